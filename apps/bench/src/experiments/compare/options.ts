// The compare experiment's vocabulary: settings, methods, presets and flags.
/** The paper's deletion sweep. */
export const PAPER_DELETIONS = [10, 50, 100, 200, 300] as const;
export const SETTINGS = ['logistic', 'cnn', 'resnet'] as const;
export type Setting = (typeof SETTINGS)[number];
export const ALL_METHODS = [
  'hessian-free',
  'hessian-free-2',
  'newton',
  'jackknife',
  'newton-cg',
  'jackknife-cg',
  'newton-cg@batch',
  'fine-tune',
  'negative-gradient',
] as const;
export type MethodName = (typeof ALL_METHODS)[number];

/** Methods the CNN setting runs only when --methods names them, and why. */
export const CNN_OPT_IN = {
  'hessian-free-2':
    'second-order pass over the CNN trajectory: ~155 s per request here (--methods hessian-free-2 to include)',
  'newton-cg@batch':
    'a diagnostic of the Newton step normalisation, not a method of the paper; a third CG solve per request on the CNN (--methods newton-cg@batch to include)',
} as const;

/**
 * The small ResNet (autodiff's `resnet`, d = 19,810) on MNIST: the paper's ResNet-18 protocol
 * (approximators computed lazily for the samples to forget only, against fine-tune, negative
 * gradient and retraining; lambda 1e-2, C 10) at a size this machine runs in minutes. Each
 * training step's Hessian products for 50 vectors cost ~14 s here, so n and E are small.
 */
export const RESNET = {
  methods: ['hessian-free', 'fine-tune', 'negative-gradient'],
  deletions: [50],
  seeds: 3,
  n: 512,
  epochs: 3,
  batchSize: 64,
  lr: 0.05,
  lrDecay: 0.995,
  clip: 10,
  l2: 1e-2,
  /** --quick: seconds. */
  quick: { n: 64, epochs: 2, batchSize: 32, deletions: [8], seeds: 1 },
} as const;

/** The quick preset: logistic regression on small Gaussian blobs (d = 84), 2 seeds. */
export const QUICK = {
  dataset: 'blobs:n=300,features=20,classes=4,seed=1',
  deletions: [5, 10, 20],
  seeds: 2,
} as const;

export interface CompareFlags {
  readonly settings: readonly string[];
  readonly dataset?: string;
  readonly deletions?: readonly number[];
  readonly seeds?: number;
  readonly seed: number;
  /** --seed was given: consecutive seeds from it, instead of a named setting's own seeds. */
  readonly seedGiven?: boolean;
  readonly methods?: readonly string[];
  readonly workers?: number;
  /** Run the explicit-Hessian methods on the CNN too (21,840^2 floats; hours). */
  readonly cnnExplicit?: boolean;
  /**
   * Also retrain with the authors' code's |B \ U| normaliser (a second retrain per deletion
   * count). Default: on for logistic, off for the CNN (45 s per retrain here).
   */
  readonly codeRetrain?: boolean;
  readonly finetuneEpochs?: number;
  readonly neggradSteps?: number;
  readonly backend?: string | undefined;
  readonly quick: boolean;
  /** Overrides of the training setting (as verify's flags). */
  readonly n?: number | undefined;
  readonly epochs?: number | undefined;
}
