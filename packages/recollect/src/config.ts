import { LetheError } from '@lethe/core';

/** Hyper-parameters of the mini-batch SGD run that Lethe records and later unlearns from. */
export interface TrainConfig {
  readonly epochs: number;
  readonly batchSize: number;
  /** eta_0. */
  readonly lr: number;
  /** q: eta_t = eta_0 * q^t, decayed per step. */
  readonly lrDecay: number;
  /** C: the batch gradient is clipped to this global norm. */
  readonly clip: number;
  /** lambda: the objective adds (lambda/2)||w||^2. */
  readonly l2: number;
  /**
   * Seeds the epoch permutations and the initial weights. Optional only for a run given both
   * its initial weights and its schedule (train's options), which the seed would not decide.
   */
  readonly seed?: number;
}

/** The paper's logistic-regression MNIST setting (docs/method.md#the-papers-settings). */
export const PAPER_LOGISTIC: TrainConfig = {
  epochs: 15,
  batchSize: 32,
  lr: 0.05,
  lrDecay: 0.995,
  clip: 5,
  l2: 0.5,
  seed: 42,
};

/** The paper's CNN MNIST setting (docs/method.md#the-papers-settings). */
export const PAPER_CNN: TrainConfig = {
  epochs: 20,
  batchSize: 64,
  lr: 0.05,
  lrDecay: 0.995,
  clip: 10,
  l2: 1e-6,
  seed: 42,
};

/** The config's seed, or an error saying what needs it. */
export function requireSeed(config: TrainConfig, forWhat: string): number {
  if (config.seed === undefined) {
    throw new LetheError(
      'invalid-argument',
      `Training config: seed is missing, needed for ${forWhat}: set config.seed (a whole number), or give train both initialWeights and schedule.`,
    );
  }
  return config.seed;
}

export function validateConfig(config: TrainConfig, n: number): void {
  const fail = (what: string, value: unknown, range: string): never => {
    throw new LetheError(
      'invalid-argument',
      `Training config: ${what} = ${value} is invalid; it must be ${range}.`,
    );
  };
  if (!Number.isInteger(config.epochs) || config.epochs < 1)
    fail('epochs', config.epochs, 'an integer >= 1');
  if (!Number.isInteger(config.batchSize) || config.batchSize < 1 || config.batchSize > n) {
    fail('batchSize', config.batchSize, `an integer in [1, n = ${n}]`);
  }
  if (!(config.lr > 0) || !Number.isFinite(config.lr)) fail('lr', config.lr, 'a finite number > 0');
  if (!(config.lrDecay > 0 && config.lrDecay <= 1)) fail('lrDecay', config.lrDecay, 'in (0, 1]');
  if (!(config.clip > 0)) fail('clip', config.clip, '> 0 (use Infinity for no clipping)');
  if (!(config.l2 >= 0) || !Number.isFinite(config.l2))
    fail('l2', config.l2, 'a finite number >= 0');
  if (
    config.seed !== undefined &&
    !(Number.isInteger(config.seed) && config.seed >= -(2 ** 31) && config.seed < 2 ** 32)
  ) {
    fail('seed', config.seed, 'a whole number in [-2^31, 2^32)');
  }
}
