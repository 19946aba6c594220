import { createModel, type Model } from '@lethe/autodiff';
import { Rng } from '@lethe/core';
import type { TrainingData } from '@lethe/recollect';
import * as tf from '@tensorflow/tfjs-core';

/** Gaussian blobs: class c centred at a seeded random mean. */
export function blobs(n: number, inputs: number, classes: number, seed: number): TrainingData {
  const rng = new Rng(seed);
  const means = Array.from({ length: classes }, () =>
    Array.from({ length: inputs }, () => rng.normal() * 1.2),
  );
  const x = new Float32Array(n * inputs);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.nextInt(classes);
    y[i] = c;
    for (let j = 0; j < inputs; j++) x[i * inputs + j] = means[c]![j]! + rng.normal();
  }
  return { x, y, n };
}

export function logistic(inputs: number, classes: number): Model {
  return createModel('logistic', { inputShape: [inputs], classes });
}

/** Mean cross-entropy of the rows `ids` at `w`. */
export function meanLoss(
  model: Model,
  data: TrainingData,
  w: Float32Array,
  ids: readonly number[],
): number {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(ids.length * size);
  ids.forEach((id, i) => x.set(data.x.subarray(id * size, (id + 1) * size), i * size));
  const t = tf.tidy(() => {
    const logp = tf.logSoftmax(model.logits(w, tf.tensor2d(x, [ids.length, size])));
    const onehot = tf.oneHot(
      tf.tensor1d(
        Int32Array.from(ids, (id) => data.y[id]!),
        'int32',
      ),
      model.numClasses,
    );
    return tf.mean(tf.neg(tf.sum(tf.mul(logp, onehot), 1)));
  });
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
}
