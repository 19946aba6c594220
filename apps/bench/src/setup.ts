import { type BackendInfo, createModel, type Model, useBackend } from '@lethe/autodiff';
import { LetheError, Rng } from '@lethe/core';
import { type Dataset, loadDatasetSpec, subset } from '@lethe/datasets';
import { PAPER_CNN, PAPER_LOGISTIC, type TrainConfig, type TrainingData } from '@lethe/recollect';
import type { FlagValues } from './flags.js';
import { findPreset, type Preset } from './settings/index.js';

/** Flags shared by the experiments that train a model. */
export interface ExperimentFlags {
  /** A named row of the paper's settings (settings/index.ts); the other fields override it. */
  readonly setting?: string | undefined;
  readonly model: string;
  readonly dataset: string;
  readonly n?: number;
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  readonly lrDecay?: number;
  readonly clip?: number;
  readonly l2?: number;
  readonly seed: number;
  readonly backend?: string;
  readonly quick: boolean;
}

export interface Experiment {
  readonly backend: BackendInfo;
  readonly model: Model;
  readonly config: TrainConfig;
  readonly train: Dataset;
  readonly test: Dataset;
  readonly trainingData: TrainingData;
}

/** The training flags as an experiment reads them (TRAINING_FLAGS and COMMON_FLAGS). */
export function readTrainingFlags(
  v: FlagValues,
  defaults: { readonly model?: string; readonly dataset?: string } = {},
): ExperimentFlags {
  const setting = v.string('setting');
  const preset = setting === undefined ? undefined : findPreset(setting);
  return {
    setting,
    model: v.string('model') ?? preset?.model ?? defaults.model ?? 'logistic',
    dataset: v.string('dataset') ?? preset?.dataset ?? defaults.dataset ?? 'mnist',
    n: v.number('n'),
    epochs: v.number('epochs'),
    batchSize: v.number('batch-size'),
    lr: v.number('lr'),
    lrDecay: v.number('lr-decay'),
    clip: v.number('clip'),
    l2: v.number('l2'),
    seed: v.number('seed') ?? 42,
    backend: v.string('backend'),
    quick: v.boolean('quick'),
  };
}

/** The named setting of the flags, if any. */
export function presetOf(flags: ExperimentFlags): Preset | undefined {
  return flags.setting === undefined ? undefined : findPreset(flags.setting);
}

/**
 * The named setting, or else the paper's MNIST setting for the model, with the flags' overrides;
 * --quick shrinks it.
 */
export function resolveConfig(flags: ExperimentFlags): { config: TrainConfig; n: number } {
  const preset = presetOf(flags);
  const paper =
    preset?.config ??
    (flags.model === 'cnn' || flags.model === 'lenet' ? PAPER_CNN : PAPER_LOGISTIC);
  const full = preset?.n ?? 1000;
  const quick = flags.quick
    ? { n: Math.min(200, full), epochs: Math.min(3, paper.epochs) }
    : { n: full, epochs: paper.epochs };
  const config: TrainConfig = {
    epochs: flags.epochs ?? quick.epochs,
    batchSize: flags.batchSize ?? paper.batchSize,
    lr: flags.lr ?? paper.lr,
    lrDecay: flags.lrDecay ?? paper.lrDecay,
    clip: flags.clip ?? paper.clip,
    l2: flags.l2 ?? paper.l2,
    seed: flags.seed,
  };
  return { config, n: flags.n ?? quick.n };
}

export async function setUp(flags: ExperimentFlags): Promise<Experiment> {
  const backend = await useBackend(flags.backend);
  const { config, n } = resolveConfig(flags);
  const split = loadDatasetSpec(flags.dataset);
  if (n > split.train.n) {
    throw new LetheError(
      'invalid-argument',
      `--n ${n} is larger than the ${split.train.n} training samples of ${flags.dataset}: choose --n <= ${split.train.n}.`,
    );
  }
  const train = subset(split.train, n, flags.seed);
  const model = createModel(flags.model, {
    inputShape: train.featureShape,
    classes: train.numClasses,
  });
  return {
    backend,
    model,
    config,
    train,
    test: split.test,
    trainingData: { x: train.x, y: train.y, n: train.n },
  };
}

/** Refuses a forget count the setting cannot serve, before any work starts. */
export function checkForgetCount(flags: ExperimentFlags, m: number): void {
  const { n } = resolveConfig(flags);
  if (!(Number.isInteger(m) && m >= 1 && m < n)) {
    throw new LetheError(
      'invalid-argument',
      `--forget ${m} must be an integer in [1, n - 1 = ${n - 1}]: forget fewer samples or train on more (--n).`,
    );
  }
}

/** A seeded choice of m distinct training ids to forget. */
export function chooseForgetSet(n: number, m: number, seed: number): number[] {
  if (!(Number.isInteger(m) && m >= 1 && m < n))
    throw new LetheError(
      'invalid-argument',
      `--forget ${m} must be an integer in [1, n - 1 = ${n - 1}].`,
    );
  return Array.from(new Rng(seed ^ 0xf0e7).permutation(n).subarray(0, m)).sort((a, b) => a - b);
}

/** The seeded forget set of an experiment and the ids that remain. */
export function forgetAndRemain(n: number, m: number, seed: number) {
  const forget = chooseForgetSet(n, m, seed);
  const gone = new Set(forget);
  const remain = Array.from({ length: n }, (_, i) => i).filter((i) => !gone.has(i));
  return { forget, remain };
}

/**
 * --forget as verify and certify read it (default 50, or the named setting's first deletion
 * count; --quick at most 10), checked against the setting.
 */
export function readForget(v: FlagValues, flags: ExperimentFlags): number {
  const full = presetOf(flags)?.forget ?? 50;
  const forget = v.number('forget') ?? (flags.quick ? Math.min(10, full) : full);
  checkForgetCount(flags, forget);
  return forget;
}
