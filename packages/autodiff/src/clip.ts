import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';

/** The state of global-norm clipping at one step: clip(g) = g * min(1, C/||g||). */
export interface ClipState {
  readonly norm: number;
  readonly threshold: number;
  /** min(1, C/||g||). */
  readonly scale: number;
  readonly clipped: boolean;
}

export function clipState(gradNorm: number, threshold: number): ClipState {
  if (!(threshold > 0))
    throw new LetheError(
      'invalid-argument',
      `Clipping threshold C must be a number > 0, got ${threshold}; pass the clipping norm of the run (e.g. 5).`,
    );
  if (!Number.isFinite(gradNorm)) {
    throw new LetheError(
      'non-finite',
      `Gradient norm is ${gradNorm}: training diverged; lower the learning rate.`,
    );
  }
  const clipped = gradNorm > threshold;
  return { norm: gradNorm, threshold, scale: clipped ? threshold / gradNorm : 1, clipped };
}

/** Clips a gradient by its global norm; returns the clipped gradient and the clip state. */
export function clipGradient(
  g: tf.Tensor1D,
  threshold: number,
): { clipped: tf.Tensor1D; state: ClipState } {
  const norm = tf.tidy(() => tf.norm(g).dataSync()[0]!);
  const state = clipState(norm, threshold);
  const clipped = state.clipped ? (tf.mul(g, state.scale) as tf.Tensor1D) : tf.clone(g);
  return { clipped, state };
}

/**
 * The Jacobian of clip(.) at g applied to each row of Y [K, d]:
 * identity when ||g|| <= C, else (C/||g||) (I - g^ g^T) with g^ = g/||g||
 * (docs/method.md#the-clipping-jacobian).
 */
export function applyClipJacobian(y: tf.Tensor2D, g: tf.Tensor1D, state: ClipState): tf.Tensor2D {
  if (!state.clipped) return tf.clone(y);
  return tf.tidy(() => {
    const gHat = tf.div(g, state.norm);
    const coef = tf.matMul(y, tf.reshape(gHat, [-1, 1]));
    const projected = tf.sub(y, tf.mul(coef, tf.reshape(gHat, [1, -1])));
    return tf.mul(projected, state.scale) as tf.Tensor2D;
  });
}
