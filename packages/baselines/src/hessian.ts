import type { Model } from '@lethe/autodiff';
import { validateSampleIds } from '@lethe/core';
import type { TrainingData } from '@lethe/recollect';
import * as tf from '@tensorflow/tfjs-core';
import { ChunkedPoints, defaultChunk } from './data-ops.js';

export interface HessianOptions {
  /** Identity rows per Hessian-matrix product (default 256). */
  readonly blockRows?: number;
  /** Samples per linearisation point (default: sized to the model). */
  readonly chunk?: number;
  readonly onProgress?: (fraction: number) => void;
}

/**
 * The explicit d x d matrix sum_{i in ids} H_i(w) of the samples' cross-entropy Hessians (no
 * regulariser, no normaliser), row-major float32: built from Hessian-matrix products against
 * blocks of identity rows, accumulated over chunks of the samples. Row j is H e_j.
 */
export function hessianSum(
  model: Model,
  data: TrainingData,
  weights: Float32Array,
  ids: ArrayLike<number>,
  options: HessianOptions = {},
): Float32Array {
  const d = model.d;
  const list = validateSampleIds(ids, { context: 'hessianSum', n: data.n, allowEmpty: true });
  const out = new Float32Array(d * d);
  if (list.length === 0) return out;
  const rows = Math.max(1, Math.min(d, options.blockRows ?? 256));
  const chunk = options.chunk ?? defaultChunk(model, rows, list.length);
  const blocks = Math.ceil(d / rows);
  const chunks = Math.ceil(list.length / chunk);
  let done = 0;
  for (let c = 0; c < chunks; c++) {
    const points = new ChunkedPoints(
      model,
      data,
      weights,
      list.subarray(c * chunk, Math.min(list.length, (c + 1) * chunk)),
      chunk,
    );
    try {
      for (let j0 = 0; j0 < d; j0 += rows) {
        const k = Math.min(rows, d - j0);
        const hv = tf.tidy(() =>
          points.hmp(
            tf.cast(
              tf.oneHot(tf.range(j0, j0 + k, 1, 'int32') as tf.Tensor1D, d),
              'float32',
            ) as tf.Tensor2D,
          ),
        );
        // (Read outside tidy: returning a typed array from tidy walks every element.)
        const values = hv.dataSync() as Float32Array;
        hv.dispose();
        const base = j0 * d;
        if (c === 0) out.set(values, base);
        else for (let i = 0; i < values.length; i++) out[base + i]! += values[i]!;
        options.onProgress?.(++done / (blocks * chunks));
      }
    } finally {
      points.dispose();
    }
  }
  return out;
}
