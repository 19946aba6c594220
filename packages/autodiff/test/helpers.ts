import { Rng } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { availableBackends, type Batch, type Model } from '../src/index.js';

/** Backends to test on: every one that loads here, or LETHE_TEST_BACKENDS=wasm,cpu. */
export function testBackends(): string[] {
  const only = process.env.LETHE_TEST_BACKENDS;
  // availableBackends() only lists tfjs-node when its native library loads.
  const present = availableBackends();
  return only ? present.filter((b) => only.split(',').includes(b)) : present;
}

/** A random batch for a model: Gaussian inputs, uniform labels. */
export function randomBatch(
  model: Model,
  size: number,
  seed: number,
): { x: Float32Array; y: Int32Array } {
  const rng = new Rng(seed);
  const inSize = model.inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(size * inSize).map(() => rng.normal());
  const y = new Int32Array(size).map(() => rng.nextInt(model.numClasses));
  return { x, y };
}

export function toBatch(model: Model, data: { x: Float32Array; y: Int32Array }): Batch {
  const b = data.y.length;
  return { x: tf.tensor(data.x, [b, ...model.inputShape]), labels: tf.tensor1d(data.y, 'int32') };
}

export function randomVector(d: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  return new Float32Array(d).map(() => scale * rng.normal());
}

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
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

/** Gradient of the batch objective at params, as a Float32Array. */
export function gradientAt(
  model: Model,
  params: Float32Array,
  batch: Batch,
  l2: number,
): Float32Array {
  const point = model.at(params, batch);
  const g = point.gradient(l2);
  const out = g.dataSync() as Float32Array;
  g.dispose();
  point.dispose();
  return Float32Array.from(out);
}

/** H v by central differences of the gradient: (g(w + h v) - g(w - h v)) / 2h. */
export function fdHvp(
  model: Model,
  params: Float32Array,
  batch: Batch,
  l2: number,
  v: Float32Array,
  h: number,
): Float64Array {
  const plus = params.map((w, i) => w + h * v[i]!);
  const minus = params.map((w, i) => w - h * v[i]!);
  const gp = gradientAt(model, plus, batch, l2);
  const gm = gradientAt(model, minus, batch, l2);
  return Float64Array.from(gp, (g, i) => (g - gm[i]!) / (2 * h));
}

export function hmpRows(
  model: Model,
  params: Float32Array,
  batch: Batch,
  l2: number,
  v: Float32Array,
  k: number,
): Float32Array {
  const point = model.at(params, batch);
  const vt = tf.tensor2d(v, [k, model.d]);
  const hv = point.hmp(vt, l2);
  const out = Float32Array.from(hv.dataSync());
  hv.dispose();
  vt.dispose();
  point.dispose();
  return out;
}
