import { type Batch, type ClipState, clipGradient, type Model } from '@lethe/autodiff';
import * as tf from '@tensorflow/tfjs-core';

export interface StepResult {
  readonly next: tf.Tensor1D;
  readonly clip: ClipState;
  /** The cross-entropy part of the batch objective at the step's start. */
  readonly loss: number;
}

/** One SGD step w - eta clip(grad L_t(w)). Training, replay and retraining all use it. */
export function sgdStep(
  model: Model,
  w: tf.Tensor1D,
  batch: Batch,
  eta: number,
  clip: number,
  l2: number,
): StepResult {
  const point = model.at(w, batch, { gradientOnly: true });
  const g = point.gradient(l2);
  const { clipped, state } = clipGradient(g, clip);
  const next = tf.tidy(() => tf.sub(w, tf.mul(clipped, eta)) as tf.Tensor1D);
  const loss = point.loss;
  tf.dispose([g, clipped]);
  point.dispose();
  return { next, clip: state, loss };
}
