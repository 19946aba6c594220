import type { Model, ModelPoint } from '@lethe/autodiff';
import { validateSampleIds } from '@lethe/core';
import type { TrainingData } from '@lethe/recollect';
import { DataTensors } from '@lethe/recollect/internals';
import * as tf from '@tensorflow/tfjs-core';

/** Samples of a data set, gathered in chunks, each linearised at the weights as a ModelPoint. */
export class ChunkedPoints {
  readonly points: ModelPoint[] = [];

  /**
   * Points for `ids` at `weights`, `chunk` samples each; each point's objective is the plain
   * sum of the chunk's cross-entropies (denominator 1), so point products add up over chunks.
   */
  constructor(
    readonly model: Model,
    data: TrainingData,
    weights: Float32Array,
    readonly ids: Int32Array,
    chunk: number,
    /** Points that only give gradients (layers skip their HMP precomputation). */
    gradientOnly = false,
  ) {
    const tensors = new DataTensors(model, data);
    const w = tf.tensor1d(weights);
    try {
      for (let start = 0; start < ids.length; start += chunk) {
        const { x, labels } = tensors.gather(
          ids.subarray(start, Math.min(ids.length, start + chunk)),
        );
        try {
          this.points.push(model.at(w, { x, labels, denominator: 1 }, { gradientOnly }));
        } finally {
          tf.dispose([x, labels]);
        }
      }
    } catch (err) {
      this.dispose();
      throw err;
    } finally {
      w.dispose();
      tensors.dispose();
    }
  }

  /** sum_{i in ids} grad l(w; z_i) (cross-entropy only), float64. */
  gradientSum(): Float64Array {
    const out = new Float64Array(this.model.d);
    for (const p of this.points) {
      const g = p.gradient(0);
      const v = g.dataSync();
      g.dispose();
      for (let j = 0; j < out.length; j++) out[j]! += v[j]!;
    }
    return out;
  }

  /** (sum_{i in ids} H_i) V for a block V [K, d] (cross-entropy Hessians, no regulariser). */
  hmp(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let acc: tf.Tensor2D | null = null;
      for (const p of this.points) {
        const hv = p.hmp(v, 0);
        acc = acc ? (tf.add(acc, hv) as tf.Tensor2D) : hv;
      }
      return acc!;
    });
  }

  dispose(): void {
    for (const p of this.points) p.dispose();
    this.points.length = 0;
  }
}

/** Samples per chunk so that a Hessian-matrix product over K rows stays near `budgetBytes`. */
export function defaultChunk(
  model: Model,
  rows: number,
  n: number,
  budgetBytes = 256 << 20,
): number {
  // Tangent activations per (row, sample) scale with the FLOPs of one HVP (~1 float per 64).
  const perSample = 4 * rows * Math.max(model.numClasses * 4, model.hvpFlopsPerSample() / 64);
  return Math.max(1, Math.min(n, 256, Math.floor(budgetBytes / perSample)));
}

export function sumGradients(
  model: Model,
  data: TrainingData,
  weights: Float32Array,
  ids: ArrayLike<number>,
): Float64Array {
  const list = validateSampleIds(ids, { context: 'sumGradients', n: data.n, allowEmpty: true });
  const points = new ChunkedPoints(
    model,
    data,
    weights,
    list,
    defaultChunk(model, 1, list.length),
    true,
  );
  try {
    return points.gradientSum();
  } finally {
    points.dispose();
  }
}
