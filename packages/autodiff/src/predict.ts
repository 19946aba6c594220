import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from './model.js';

/**
 * The model's logits for n samples given as a host array (n * prod(inputShape) values), as a
 * host array [n, classes] row by row. Runs in chunks so that memory stays flat for large n.
 */
export function predictLogits(
  model: Model,
  weights: Float32Array,
  x: Float32Array,
  n: number,
  chunk = 512,
): Float32Array {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  if (x.length !== n * size) {
    throw new LetheError(
      'shape-mismatch',
      `predictLogits: x has ${x.length} values, expected n * ${size} = ${n * size} for model ${model.name}.`,
    );
  }
  const out = new Float32Array(n * model.numClasses);
  for (let start = 0; start < n; start += chunk) {
    const end = Math.min(n, start + chunk);
    const part = tf.tidy(() =>
      model
        .logits(weights, tf.tensor2d(x.subarray(start * size, end * size), [end - start, size]))
        .dataSync(),
    );
    out.set(part, start * model.numClasses);
  }
  return out;
}
