import { readFileSync } from 'node:fs';
import type { BackendInfo, Model } from '@lethe/autodiff';
import type { Dataset } from '@lethe/datasets';
import * as tf from '@tensorflow/tfjs-core';

/** Versions recorded in every result. */
export function versions(): Record<string, string> {
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return { node: process.version, tfjs: tf.version_core, '@lethe/bench': own.version };
}

export function backendRecord(info: BackendInfo) {
  return { name: info.name, reason: info.reason, unavailable: info.unavailable };
}

/** Accuracy of the weights on a dataset (or a subset of its rows). */
export function accuracy(
  model: Model,
  weights: Float32Array,
  data: Dataset,
  rows?: ArrayLike<number>,
): number {
  const ids = rows ? Array.from(rows) : null;
  const count = ids ? ids.length : data.n;
  if (count === 0) return Number.NaN;
  const size = data.featureShape.reduce((a, b) => a * b, 1);
  let correct = 0;
  const chunk = 512;
  for (let start = 0; start < count; start += chunk) {
    const end = Math.min(count, start + chunk);
    const x = new Float32Array((end - start) * size);
    const y = new Int32Array(end - start);
    for (let i = start; i < end; i++) {
      const id = ids ? ids[i]! : i;
      x.set(data.x.subarray(id * size, (id + 1) * size), (i - start) * size);
      y[i - start] = data.y[id]!;
    }
    const pred = tf.tidy(() =>
      tf.argMax(model.logits(weights, tf.tensor(x, [end - start, size])), 1).dataSync(),
    );
    for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) correct++;
  }
  return correct / count;
}

/** Per-sample cross-entropy losses of the given rows. */
export function sampleLosses(
  model: Model,
  weights: Float32Array,
  data: Dataset,
  rows: ArrayLike<number>,
): Float64Array {
  const ids = Array.from(rows);
  const size = data.featureShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(ids.length * size);
  ids.forEach((id, i) => x.set(data.x.subarray(id * size, (id + 1) * size), i * size));
  const losses = tf.tidy(() => {
    const logits = model.logits(weights, tf.tensor(x, [ids.length, size]));
    const logp = tf.logSoftmax(logits);
    const onehot = tf.oneHot(
      tf.tensor1d(
        Int32Array.from(ids, (id) => data.y[id]!),
        'int32',
      ),
      model.numClasses,
    );
    return tf.neg(tf.sum(tf.mul(logp, onehot), 1)).dataSync();
  });
  return Float64Array.from(losses);
}

export function l2Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}
