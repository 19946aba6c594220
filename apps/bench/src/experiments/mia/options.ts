import type { AttackClassifier, AttackMetrics, LiraOptions } from '@lethe/evaluate';
import type { ExperimentFlags } from '../../setup.js';

export interface MiaFlags extends ExperimentFlags {
  /** LiRA shadow models (even). */
  readonly shadows: number;
  /** How many of the LiRA shadows also serve as MIA-U shadows (unlearned like the target). */
  readonly unlearnShadows: number;
  /** Samples forgotten per model (and as many never-seen samples probed). */
  readonly forget: number;
  readonly delta: number;
  /** Noise levels given as privacy targets: sigma from the analytic Gaussian mechanism. */
  readonly epsilons: readonly number[];
  /** Extra noise levels given as sigma (their epsilon is reported). 0 is always included. */
  readonly sigmas: readonly number[];
  /**
   * Steps of the target's run on which to measure rho (power iteration) for the sensitivity
   * bound; 0 uses rho = 1, the authors' choice. That is a bound only while eta_t ||H_t|| <= 2;
   * on logistic MNIST the measured rho is above 1 and the bound explodes as rho^T.
   */
  readonly rhoSteps: number;
  readonly workers?: number | undefined;
}

export const MIA_DEFAULTS = {
  shadows: 16,
  unlearnShadows: 4,
  forget: 100,
  delta: 1e-5,
  epsilons: [1, 10, 100, 1000],
  sigmas: [0.003, 0.01, 0.03],
  rhoSteps: 0,
} as const;

/** --quick: small blobs, few shadows; seconds. */
export const MIA_QUICK = {
  dataset: 'blobs:n=600,features=20,classes=4,seed=1',
  shadows: 4,
  unlearnShadows: 2,
  forget: 20,
} as const;

export const CLASSIFIERS: readonly AttackClassifier[] = ['logistic', 'mlp'];

export const LIRA_VARIANTS: readonly { name: string; options: LiraOptions }[] = [
  { name: 'online, global variance', options: { variant: 'online', variance: 'global' } },
  { name: 'online, per-example variance', options: { variant: 'online', variance: 'per-example' } },
  { name: 'offline, global variance', options: { variant: 'offline', variance: 'global' } },
];

/** The three numbers every attack reports. */
export const headline = (m: AttackMetrics) => ({
  auc: m.auc,
  tprAt1pctFpr: m.tprAt1pctFpr,
  tprAt01pctFpr: m.tprAt01pctFpr,
});
