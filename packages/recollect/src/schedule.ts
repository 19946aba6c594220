import { deriveSeed, LetheError, Rng } from '@lethe/core';
import { requireSeed, type TrainConfig } from './config.js';

/** One SGD step of the schedule: which samples, and the step size. */
export interface ScheduledStep {
  readonly epoch: number;
  readonly batch: Int32Array;
  readonly eta: number;
}

/**
 * The batches of a run: each epoch a seeded permutation of 0..n-1 cut into batches of
 * batchSize (the last one may be smaller); eta_t = lr * lrDecay^t over the global step t.
 */
export function buildSchedule(n: number, config: TrainConfig): ScheduledStep[] {
  const seed = requireSeed(config, 'the seeded batch schedule');
  const steps: ScheduledStep[] = [];
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const perm = new Rng(deriveSeed(seed, 0x5eed, epoch)).permutation(n);
    for (let start = 0; start < n; start += config.batchSize) {
      const t = steps.length;
      steps.push({
        epoch,
        batch: perm.slice(start, Math.min(n, start + config.batchSize)),
        eta: config.lr * config.lrDecay ** t,
      });
    }
  }
  return steps;
}

/** How train checks a given schedule's step sizes. */
export type StepSizes = 'config' | 'schedule';

/**
 * Checks a schedule given to train: epochs whole numbers >= 0, each batch a non-empty Int32Array
 * of ids in 0..n-1, etas finite and positive, and (stepSizes 'config') eta_t = lr * lrDecay^t,
 * the config's decay.
 */
export function validateSchedule(
  schedule: readonly ScheduledStep[],
  n: number,
  config: TrainConfig,
  stepSizes: StepSizes,
): void {
  const fail = (t: number, problem: string): never => {
    throw new LetheError('invalid-argument', `train: schedule step ${t} ${problem}`);
  };
  if (schedule.length === 0) {
    throw new LetheError(
      'invalid-argument',
      'train: the schedule is empty; give at least one step.',
    );
  }
  schedule.forEach((step, t) => {
    if (!(Number.isInteger(step.epoch) && step.epoch >= 0)) {
      fail(t, `has epoch = ${step.epoch}; epochs are whole numbers >= 0.`);
    }
    if (!(step.batch instanceof Int32Array) || step.batch.length === 0) {
      fail(t, 'has no batch: give each step a non-empty Int32Array of sample ids.');
    }
    for (const id of step.batch) {
      if (!(id >= 0 && id < n)) fail(t, `names sample ${id}, outside 0..${n - 1}.`);
    }
    if (!(Number.isFinite(step.eta) && step.eta > 0)) {
      fail(t, `has eta = ${step.eta}; a step size must be a finite number > 0.`);
    }
    if (stepSizes === 'config') {
      const expected = config.lr * config.lrDecay ** t;
      if (Math.abs(step.eta - expected) > 1e-12 * expected) {
        fail(
          t,
          `has eta = ${step.eta} but the config gives lr * lrDecay^${t} = ${expected}; fix the schedule, or pass stepSizes: 'schedule' if it carries its own step sizes.`,
        );
      }
    }
  });
}
