import { deriveSeed, Rng } from '@lethe/core';
import type { TrainConfig } from './config.js';

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
  const steps: ScheduledStep[] = [];
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    const perm = new Rng(deriveSeed(config.seed, 0x5eed, epoch)).permutation(n);
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
