import type { Model } from '@lethe/autodiff';
import { validateSampleIds } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { DataTensors, type TrainingData, validateData } from './data.js';
import { sgdStep } from './step.js';
import { assertDataMatches, assertTrajectoryMatches, type Trajectory } from './trajectory.js';

/**
 * How a batch that lost samples is averaged: 'batch' keeps |B_t| (the paper's counterfactual),
 * 'remaining' divides by |B_t \ U| (what the authors' code does). See
 * docs/method.md#the-counterfactual.
 */
export type Normaliser = 'batch' | 'remaining';

export interface ReplayOptions {
  /** Weight c_u of sample u's loss in every batch it is in (default 1). */
  readonly sampleWeights?: ReadonlyMap<number, number>;
  readonly normaliser?: Normaliser;
  /** Start from these weights instead of the trajectory's w_0. */
  readonly initialWeights?: Float32Array;
}

/**
 * Replays a recorded run with re-weighted samples: same permutations, same step sizes, its own
 * gradients and clipping. Weight 0 removes a sample; 1 - omega gives the run w(omega).
 */
export function replay(
  model: Model,
  data: TrainingData,
  trajectory: Trajectory,
  options: ReplayOptions = {},
): Float32Array {
  assertTrajectoryMatches(trajectory, model);
  validateData(model, data);
  assertDataMatches(trajectory, data, 'replay');
  const weightsOf = options.sampleWeights ?? new Map<number, number>();
  const normaliser = options.normaliser ?? 'batch';
  const tensors = new DataTensors(model, data);
  let w = tf.tensor1d(options.initialWeights ?? trajectory.checkpoints.get(0)!);
  try {
    for (const step of trajectory.steps) {
      const c = Float32Array.from(step.batch, (id) => weightsOf.get(id) ?? 1);
      const remaining = c.reduce((a, v) => a + (v === 0 ? 0 : 1), 0);
      // An emptied batch under the 'remaining' normaliser has no loss term; N = 1 avoids 0/0.
      const denominator = normaliser === 'batch' ? step.batch.length : Math.max(1, remaining);
      const { x, labels } = tensors.gather(step.batch);
      const weights = tf.tensor1d(c);
      const { next } = sgdStep(
        model,
        w,
        { x, labels, weights, denominator },
        step.eta,
        trajectory.config.clip,
        trajectory.config.l2,
      );
      tf.dispose([x, labels, weights, w]);
      w = next;
    }
    return Float32Array.from(w.dataSync());
  } finally {
    w.dispose();
    tensors.dispose();
  }
}

/** The exact counterfactual w^{-U}: the recorded run with the samples of U removed. */
export function retrain(
  model: Model,
  data: TrainingData,
  trajectory: Trajectory,
  removed: ArrayLike<number>,
  options: { normaliser?: Normaliser } = {},
): Float32Array {
  const sampleWeights = new Map<number, number>();
  for (const id of validateSampleIds(removed, {
    context: 'retrain',
    n: trajectory.n,
    allowEmpty: true,
  })) {
    sampleWeights.set(id, 0);
  }
  return replay(model, data, trajectory, {
    sampleWeights,
    normaliser: options.normaliser ?? 'batch',
  });
}
