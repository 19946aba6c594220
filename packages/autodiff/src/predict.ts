import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { requireFiniteValues } from './check.js';
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
  if (!Number.isInteger(n) || n < 0) {
    throw new LetheError(
      'invalid-argument',
      `predictLogits: n is ${n}; pass the number of samples in x, a whole number >= 0.`,
    );
  }
  if (!Number.isInteger(chunk) || chunk < 1) {
    throw new LetheError(
      'invalid-argument',
      `predictLogits: chunk is ${chunk}; pass a whole number of samples per pass >= 1 (default 512).`,
    );
  }
  if (weights.length !== model.d) {
    throw new LetheError(
      'shape-mismatch',
      `predictLogits: weights have ${weights.length} values but model ${model.name} has d = ${model.d}; pass weights of this model (same architecture, inputShape and classes).`,
    );
  }
  if (x.length !== n * size) {
    throw new LetheError(
      'shape-mismatch',
      `predictLogits: x has ${x.length} values, expected n * ${size} = ${n * size} for model ${model.name}; pass n samples of shape [${model.inputShape}] row by row.`,
    );
  }
  requireFiniteValues(
    'predictLogits',
    'weights',
    weights,
    'pass finite weights (NaN weights come from a diverged run: lower the learning rate and retrain).',
  );
  requireFiniteValues(
    'predictLogits',
    'x',
    x,
    'every input must be a finite number; clean or impute the data first.',
  );
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
