import { createModel, type Model } from '@lethe/autodiff';
import { Rng } from '@lethe/core';
import { createMemoryStore } from '@lethe/store';
import {
  storeIdentity,
  type TrainConfig,
  type TrainingData,
  type Trajectory,
} from '../src/index.js';
import type { Data64 } from './reference64.js';

/** Separable-ish Gaussian blobs: class c centred at a seeded random mean. */
export function blobs(
  n: number,
  inputs: number,
  classes: number,
  seed: number,
  spread = 1.5,
): TrainingData {
  const rng = new Rng(seed);
  const means = Array.from({ length: classes }, () =>
    Array.from({ length: inputs }, () => rng.normal() * spread),
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

export function storeFor(model: Model, trajectory: Trajectory) {
  return createMemoryStore(storeIdentity(model, trajectory));
}

export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

export function relErr(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num += (actual[i]! - expected[i]!) ** 2;
    den += expected[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

export function add(a: ArrayLike<number>, b: ArrayLike<number>): Float32Array {
  return Float32Array.from(a, (v, i) => v + b[i]!);
}

/**
 * The small logistic problem of the exactness tests: some steps clip and others do not, the last
 * batch is smaller than the others, and every sample appears in several epochs.
 */
export function smallLogisticProblem() {
  const inputs = 5;
  const classes = 3;
  const data = blobs(23, inputs, classes, 11);
  const data64: Data64 = { inputs, classes, x: Float64Array.from(data.x), y: data.y, n: data.n };
  const config: TrainConfig = {
    epochs: 3,
    batchSize: 5,
    lr: 0.4,
    lrDecay: 0.98,
    clip: 1.2,
    l2: 0.05,
    seed: 3,
  };
  const model = logistic(inputs, classes);
  return { inputs, classes, data, data64, config, model, w0: model.init(3) };
}
