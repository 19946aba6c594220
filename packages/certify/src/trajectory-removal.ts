import type { Model } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import type { TrainingData, Trajectory } from '@lethe/recollect';
import { DataTensors, WeightsCursor } from '@lethe/recollect/internals';
import type { SoftmaxRun } from './removal-bound.js';

export interface SoftmaxRunOptions {
  readonly model: Model;
  readonly data: TrainingData;
  readonly trajectory: Trajectory;
  readonly onStep?: (done: number, total: number) => void;
}

/**
 * A recorded softmax-regression run as softmaxRemovalBound reads it, with every w_t read once
 * (replayed from checkpoints where needed) and kept, so that many deletion sets can be bounded
 * against one run. Other models are refused: the bound's constants are softmax regression's.
 */
export function softmaxRunFromTrajectory(options: SoftmaxRunOptions): SoftmaxRun {
  const { model, data, trajectory } = options;
  if (model.name !== 'logistic') {
    throw new LetheError(
      'unsupported',
      `softmaxRunFromTrajectory: the removal bound is proven for softmax regression (the 'logistic' model) only, not '${model.name}': its curvature and segment constants are softmax regression's. Certify other models with a sensitivity model (the paper's bound) instead.`,
    );
  }
  const steps = trajectory.steps.length;
  const tensors = new DataTensors(model, data);
  const cursor = new WeightsCursor(model, tensors, trajectory);
  const weights: Float32Array[] = [];
  try {
    for (let t = 0; t <= steps; t++) {
      weights.push(Float32Array.from(cursor.at(t).dataSync()));
      options.onStep?.(t + 1, steps + 1);
    }
  } finally {
    cursor.dispose();
    tensors.dispose();
  }
  return {
    classes: model.numClasses,
    inputs: model.d / model.numClasses - 1,
    x: data.x,
    y: data.y,
    lambda: trajectory.config.l2,
    clip: trajectory.config.clip,
    steps,
    step: (t) => ({
      eta: trajectory.steps[t]!.eta,
      batch: trajectory.steps[t]!.batch,
      weights: weights[t]!,
    }),
    finalWeights: weights[steps]!,
  };
}
