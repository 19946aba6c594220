import { applyClipJacobian, clipState, type Model } from '@lethe/autodiff';
import * as tf from '@tensorflow/tfjs-core';
import type { DataTensors } from './data.js';
import { WeightsCursor } from './replay.js';
import type { Trajectory } from './trajectory.js';

export interface RecursionInput {
  readonly model: Model;
  readonly data: DataTensors;
  readonly trajectory: Trajectory;
  /** Samples whose approximators are computed (distinct, in [0, n)). */
  readonly ids: Int32Array;
  /** Starting vectors (ids.length x d) instead of zeros: repair extends existing ones. */
  readonly initial?: Float32Array;
  /** Rows per Hessian-matrix product. */
  readonly blockSize: number;
  readonly onStep?: (step: number, total: number) => void;
}

/**
 * The approximator recursion (docs/method.md#the-approximator-recursion) for the given samples,
 * in this thread:
 *
 *     a_u <- a_u - eta_t J_t a_u                          (every sample, every step)
 *     if u in B_t: a_u <- a_u + (eta_t/|B_t|) D_t grad l(w_t; u)
 *
 * with J_t = D_t H_t, one Hessian-matrix product per block and step. Returns the vectors as
 * rows (ids.length x d) in the order of `ids`.
 */
export function computeApproximators(input: RecursionInput): Float32Array {
  const { model, data, trajectory, ids, blockSize } = input;
  const { d } = model;
  const { l2 } = trajectory.config;
  const rowOf = new Map<number, number>();
  ids.forEach((id, r) => rowOf.set(id, r));
  const blockCount = Math.ceil(ids.length / blockSize);
  const sizeOf = (b: number) => Math.min(blockSize, ids.length - b * blockSize);
  // null = still all zeros (no member of the block seen yet): its product is skipped.
  const blocks: (tf.Tensor2D | null)[] = Array.from({ length: blockCount }, (_, b) =>
    input.initial
      ? tf.tensor2d(input.initial.subarray(b * blockSize * d, (b * blockSize + sizeOf(b)) * d), [
          sizeOf(b),
          d,
        ])
      : null,
  );
  const cursor = new WeightsCursor(model, data, trajectory);
  const total = trajectory.steps.length;
  try {
    trajectory.steps.forEach((step, t) => {
      const members: { block: number; row: number; batchId: number }[] = [];
      for (const id of step.batch) {
        const r = rowOf.get(id);
        if (r !== undefined)
          members.push({ block: Math.floor(r / blockSize), row: r % blockSize, batchId: id });
      }
      if (members.length === 0 && blocks.every((b) => b === null)) {
        input.onStep?.(t + 1, total);
        return;
      }
      const w = cursor.at(t);
      const batch = data.gather(step.batch);
      const point = model.at(w, batch);
      const g = point.gradient(l2);
      const state = clipState(
        tf.tidy(() => tf.norm(g).dataSync()[0]!),
        trajectory.config.clip,
      );
      for (let b = 0; b < blockCount; b++) {
        const mine = members.filter((m) => m.block === b);
        const a = blocks[b] ?? null;
        if (a === null && mine.length === 0) continue;
        const next = tf.tidy(() => {
          let out: tf.Tensor2D = a
            ? stepBlock(point.hmp(a, 0), a, g, state, step.eta, l2)
            : tf.zeros([sizeOf(b), d]);
          if (mine.length > 0) {
            // The block's members' fresh terms, computed on those samples alone and scattered
            // into their rows (gathering rows of a wide [B, d] tensor is slow on wasm).
            const fresh = injection(model, data, w, mine, g, state, step.eta / step.batch.length);
            const rows = tf.tensor2d(
              Int32Array.from(mine, (m) => m.row),
              [mine.length, 1],
              'int32',
            );
            out = tf.add(out, tf.scatterND(rows, fresh, [sizeOf(b), d])) as tf.Tensor2D;
          }
          return out;
        });
        a?.dispose();
        blocks[b] = next;
      }
      tf.dispose([batch.x, batch.labels, g]);
      point.dispose();
      input.onStep?.(t + 1, total);
    });
    const out = new Float32Array(ids.length * d);
    blocks.forEach((a, b) => {
      if (a) out.set(a.dataSync(), b * blockSize * d);
    });
    return out;
  } finally {
    for (const a of blocks) a?.dispose();
    cursor.dispose();
  }
}

/** (eta/|B|) D_t grad l(w_t; u) for the members u of the batch, as rows [m, d]. */
function injection(
  model: Model,
  data: DataTensors,
  w: tf.Tensor1D,
  members: readonly { batchId: number }[],
  g: tf.Tensor1D,
  state: ReturnType<typeof clipState>,
  scale: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const { x, labels } = data.gather(members.map((m) => m.batchId));
    const point = model.at(w, { x, labels }, { gradientOnly: true });
    try {
      const perSample = point.perSampleGradients();
      return tf.mul(
        state.clipped ? applyClipJacobian(perSample, g, state) : perSample,
        scale,
      ) as tf.Tensor2D;
    } finally {
      point.dispose();
    }
  });
}

/**
 * a - eta D_t (H_CE a + lambda a): the homogeneous part of one step for a block of rows, given
 * the cross-entropy part of the product. Unclipped, the regulariser folds into one scaling of a,
 * which saves a pass over the block.
 */
function stepBlock(
  hCe: tf.Tensor2D,
  a: tf.Tensor2D,
  g: tf.Tensor1D,
  state: ReturnType<typeof clipState>,
  eta: number,
  l2: number,
): tf.Tensor2D {
  if (!state.clipped) return tf.sub(tf.mul(a, 1 - eta * l2), tf.mul(hCe, eta)) as tf.Tensor2D;
  const ha = l2 === 0 ? hCe : tf.add(hCe, tf.mul(a, l2));
  return tf.sub(a, tf.mul(applyClipJacobian(ha as tf.Tensor2D, g, state), eta)) as tf.Tensor2D;
}
