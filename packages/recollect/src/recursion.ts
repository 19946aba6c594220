import { applyClipJacobian, clipState, type Model, tf } from '@lethe/autodiff';
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
 * The approximator recursion of METHOD.md for the given samples, in this thread:
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
      const members: { block: number; row: number; position: number }[] = [];
      step.batch.forEach((id, position) => {
        const r = rowOf.get(id);
        if (r !== undefined)
          members.push({ block: Math.floor(r / blockSize), row: r % blockSize, position });
      });
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
      const injected =
        members.length > 0
          ? tf.tidy(() => {
              const perSample = point.perSampleGradients();
              const chosen = tf.gather(
                perSample,
                tf.tensor1d(
                  members.map((m) => m.position),
                  'int32',
                ),
              ) as tf.Tensor2D;
              return tf.mul(
                applyClipJacobian(chosen, g, state),
                step.eta / step.batch.length,
              ) as tf.Tensor2D;
            })
          : null;
      for (let b = 0; b < blockCount; b++) {
        const mine = members.map((m, j) => ({ ...m, j })).filter((m) => m.block === b);
        const a = blocks[b] ?? null;
        if (a === null && mine.length === 0) continue;
        const next = tf.tidy(() => {
          let out: tf.Tensor2D = a
            ? stepBlock(point.hmp(a, l2), a, g, state, step.eta)
            : tf.zeros([sizeOf(b), d]);
          if (mine.length > 0) {
            const rows = tf.gather(
              injected!,
              tf.tensor1d(
                mine.map((m) => m.j),
                'int32',
              ),
            );
            const indices = tf.tensor2d(
              mine.map((m) => [m.row]),
              [mine.length, 1],
              'int32',
            );
            out = tf.add(out, tf.scatterND(indices, rows, [sizeOf(b), d])) as tf.Tensor2D;
          }
          return out;
        });
        a?.dispose();
        blocks[b] = next;
      }
      tf.dispose([batch.x, batch.labels, g]);
      injected?.dispose();
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

/** a - eta D_t (H a): the homogeneous part of one step, for a block of rows. */
function stepBlock(
  ha: tf.Tensor2D,
  a: tf.Tensor2D,
  g: tf.Tensor1D,
  state: ReturnType<typeof clipState>,
  eta: number,
): tf.Tensor2D {
  const jacobian = state.clipped ? applyClipJacobian(ha, g, state) : ha;
  return tf.sub(a, tf.mul(jacobian, eta)) as tf.Tensor2D;
}
