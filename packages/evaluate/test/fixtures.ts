import { createModel, type Model } from '@lethe/autodiff';
import { deriveSeed } from '@lethe/core';
import { makeBlobs } from '@lethe/datasets';
import { type TrainConfig, type TrainingData, train, Unlearner } from '@lethe/recollect';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Gaussian inputs with labels drawn independently of them (blobs with every centre at 0):
 * nothing generalises, so a model that fits its training set has memorised it, and a
 * non-member's prediction is a coin toss.
 */
export function randomLabels(n: number, features: number, classes: number, seed: number) {
  const d = makeBlobs({ n, features, classes, seed, centerBox: 0 });
  return { x: d.x, y: d.y, n: d.n, features, classes };
}

export type Pool = ReturnType<typeof randomLabels>;

export function logisticFor(pool: Pool): Model {
  return createModel('logistic', { inputShape: [pool.features], classes: pool.classes });
}

export function rows(pool: Pool, ids: ArrayLike<number>): TrainingData {
  const f = pool.features;
  const x = new Float32Array(ids.length * f);
  const y = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    x.set(pool.x.subarray(id * f, (id + 1) * f), i * f);
    y[i] = pool.y[id]!;
  }
  return { x, y, n: ids.length };
}

/** Logits of the weights on every pool sample, [n, classes] row by row. */
export function logitsOn(model: Model, weights: Float32Array, pool: Pool): Float32Array {
  return tf.tidy(
    () =>
      model
        .logits(weights, tf.tensor2d(pool.x, [pool.n, pool.features]))
        .dataSync() as Float32Array,
  );
}

/** No regularisation, no clipping, many epochs: fits random labels, i.e. memorises. */
export const OVERFIT: TrainConfig = {
  epochs: 60,
  batchSize: 16,
  lr: 0.2,
  lrDecay: 1,
  clip: Number.POSITIVE_INFINITY,
  l2: 0,
  seed: 0,
};

export function trainOn(
  model: Model,
  pool: Pool,
  ids: ArrayLike<number>,
  config: TrainConfig,
  seed: number,
) {
  return train(model, rows(pool, ids), { ...config, seed: deriveSeed(config.seed ?? 0, seed) });
}

/** Unlearns `forget` (indices into the training rows) with the Hessian-free method. */
export async function unlearnLazy(
  model: Model,
  pool: Pool,
  trainIds: ArrayLike<number>,
  result: ReturnType<typeof train>,
  forget: readonly number[],
): Promise<Float32Array> {
  const unlearner = await Unlearner.open(model, result.trajectory, {
    kind: 'lazy',
    data: rows(pool, trainIds),
    workers: 1,
  });
  await unlearner.forgetBatch(forget);
  return unlearner.weights;
}
