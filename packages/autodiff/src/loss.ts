import * as tf from '@tensorflow/tfjs-core';

/**
 * Softmax cross-entropy at one point, with optional per-sample weights and a normaliser:
 * L = (1/N) sum_i c_i * CE(z_i, y_i). N defaults to the batch size; the weights default to 1.
 * (Retraining without a sample is weight 0 with N = |B|, the paper's convention.)
 */
export interface CrossEntropyPoint {
  /** Softmax probabilities, [B, C]. */
  readonly probs: tf.Tensor2D;
  /** Per-sample losses CE(z_i, y_i), unweighted, [B]. */
  readonly perSample: tf.Tensor1D;
  /** dL/dz, [B, C]. */
  readonly dLogits: tf.Tensor2D;
  /** p_i - onehot(y_i): the per-sample dCE/dz, unweighted and unnormalised, [B, C]. */
  readonly residual: tf.Tensor2D;
  /** c_i / N as a column [B, 1]. */
  readonly scale: tf.Tensor2D;
  readonly loss: number;
}

export function crossEntropy(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  weights: tf.Tensor1D | null,
  denominator: number,
): CrossEntropyPoint {
  const [b, classes] = logits.shape;
  // log-softmax by subtracting the row max first, so large logits do not overflow.
  const shifted = tf.sub(logits, tf.max(logits, 1, true));
  const logp = tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), 1, true))) as tf.Tensor2D;
  const probs = tf.exp(logp) as tf.Tensor2D;
  const onehot = tf.oneHot(tf.cast(labels, 'int32'), classes) as tf.Tensor2D;
  const perSample = tf.neg(tf.sum(tf.mul(logp, onehot), 1)) as tf.Tensor1D;
  const w = weights ?? tf.ones([b]);
  const scale = tf.reshape(tf.div(w, denominator), [b, 1]) as tf.Tensor2D;
  const residual = tf.sub(probs, onehot) as tf.Tensor2D;
  const dLogits = tf.mul(residual, scale) as tf.Tensor2D;
  const loss = tf.sum(tf.mul(perSample, tf.reshape(scale, [b]))).dataSync()[0]!;
  return { probs, perSample, dLogits, residual, scale, loss };
}

/**
 * R-operator of dL/dz: for tangents zDot [K*B, C] returns d(dL/dz)[zDot] =
 * (c_i/N) (p_i * zDot_i - p_i <p_i, zDot_i>), the softmax Jacobian applied per sample.
 */
export function crossEntropyRop(point: CrossEntropyPoint, zDot: tf.Tensor, k: number): tf.Tensor {
  const [b, classes] = point.probs.shape;
  const z = tf.reshape(zDot, [k, b, classes]);
  const pz = tf.mul(z, point.probs);
  const s = tf.sub(pz, tf.mul(point.probs, tf.sum(pz, 2, true)));
  return tf.reshape(tf.mul(s, point.scale), [k * b, classes]);
}

export function crossEntropyTensors(point: CrossEntropyPoint): tf.Tensor[] {
  return [point.probs, point.perSample, point.dLogits, point.residual, point.scale];
}

/**
 * Second derivative of dL/dz along a direction, given the logits' first and second
 * derivatives: (c_i/N) p''_i with p' = p (z' - <p, z'>) and
 * p'' = p' (z' - <p, z'>) + p (z'' - <p', z'> - <p, z''>).
 */
export function crossEntropyR2op(
  point: CrossEntropyPoint,
  zDot: tf.Tensor,
  zDDot: tf.Tensor,
  k: number,
): tf.Tensor {
  const [b, classes] = point.probs.shape;
  const z1 = tf.reshape(zDot, [k, b, classes]);
  const z2 = tf.reshape(zDDot, [k, b, classes]);
  const p = point.probs;
  const centred = tf.sub(z1, tf.sum(tf.mul(p, z1), 2, true));
  const p1 = tf.mul(p, centred);
  const sDot = tf.add(tf.sum(tf.mul(p1, z1), 2, true), tf.sum(tf.mul(p, z2), 2, true));
  const p2 = tf.add(tf.mul(p1, centred), tf.mul(p, tf.sub(z2, sDot)));
  return tf.reshape(tf.mul(p2, point.scale), [k * b, classes]);
}
