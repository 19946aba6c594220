import { applyClipJacobian, clipState, type Model, tf } from '@lethe/autodiff';
import type { DataTensors } from './data.js';
import { WeightsCursor } from './replay.js';
import { finalWeights, type Trajectory } from './trajectory.js';

export interface SecondOrderResult {
  /** w'_T: the first-order update of the whole set (the sum of its approximators). */
  readonly first: Float32Array;
  /** w''_T: the second derivative of the run along the removal. */
  readonly second: Float32Array;
  /** w_T + w'_T + w''_T / 2. */
  readonly weights: Float32Array;
  readonly seconds: number;
}

/**
 * Second-order recollection for a deletion set U (METHOD.md, "Beyond the paper"): one pass over
 * the trajectory carrying the set's first-order path w'_t and its second derivative w''_t,
 *
 *   w'_{t+1}  = w'_t  - eta J_t w'_t  + (eta/|B|) D_t sum_{u in U, B_t} grad l(w_t; u)
 *   w''_{t+1} = w''_t - eta J_t w''_t - eta D_t T_t[w'_t, w'_t] + 2 (eta/|B|) D_t sum H_u(w_t) w'_t
 *
 * (clipping's second derivatives dropped). Not additive over requests: recompute for the whole
 * set as it grows.
 */
export function secondOrderUpdate(
  model: Model,
  data: DataTensors,
  trajectory: Trajectory,
  removed: ArrayLike<number>,
  onStep?: (step: number, total: number) => void,
): SecondOrderResult {
  const started = performance.now();
  const set = new Set(Array.from(removed));
  const { l2, clip } = trajectory.config;
  const { d } = model;
  const cursor = new WeightsCursor(model, data, trajectory);
  // Rows: [w', w'']; null until the first member of U is seen (both are zero before).
  let state: tf.Tensor2D | null = null;
  const total = trajectory.steps.length;
  try {
    trajectory.steps.forEach((step, t) => {
      const members = Int32Array.from(Array.from(step.batch).filter((id) => set.has(id)));
      if (state === null && members.length === 0) {
        onStep?.(t + 1, total);
        return;
      }
      const w = cursor.at(t);
      const batch = data.gather(step.batch);
      const point = model.at(w, batch);
      const next = tf.tidy(() => {
        const g = point.gradient(l2);
        const cs = clipState(tf.norm(g).dataSync()[0]!, clip);
        const jac = (y: tf.Tensor2D) => (cs.clipped ? applyClipJacobian(y, g, cs) : y);
        const current = state ?? (tf.zeros([2, d]) as tf.Tensor2D);
        const wPrime = tf.slice(current, [0, 0], [1, d]) as tf.Tensor2D;
        let out = tf.sub(current, tf.mul(jac(point.hmp(current, l2)), step.eta)) as tf.Tensor2D;
        if (state !== null) {
          const curvature = jac(point.thirdDerivative(wPrime));
          out = tf.sub(
            out,
            tf.concat([tf.zeros([1, d]), tf.mul(curvature, step.eta)]),
          ) as tf.Tensor2D;
        }
        if (members.length > 0)
          out = tf.add(
            out,
            memberTerms(model, data, w, members, wPrime, step.eta / step.batch.length, jac),
          );
        return out;
      });
      state?.dispose();
      state = next;
      tf.dispose([batch.x, batch.labels]);
      point.dispose();
      onStep?.(t + 1, total);
    });
    const both = state ? (state as tf.Tensor2D).dataSync() : new Float32Array(2 * d);
    const first = Float32Array.from(both.subarray(0, d));
    const second = Float32Array.from(both.subarray(d, 2 * d));
    const wT = finalWeights(trajectory);
    const weights = Float32Array.from(wT, (w, i) => w + first[i]! + second[i]! / 2);
    return { first, second, weights, seconds: (performance.now() - started) / 1000 };
  } finally {
    (state as tf.Tensor2D | null)?.dispose();
    cursor.dispose();
  }
}

/** [(eta/|B|) D sum grad l_u ; 2 (eta/|B|) D sum H_u w'] for the members of U in this batch. */
function memberTerms(
  model: Model,
  data: DataTensors,
  w: tf.Tensor1D,
  members: Int32Array,
  wPrime: tf.Tensor2D,
  scale: number,
  jac: (y: tf.Tensor2D) => tf.Tensor2D,
): tf.Tensor2D {
  const { x, labels } = data.gather(members);
  // Denominator 1 and no regulariser: the point's gradient and HMP are the members' sums.
  const point = model.at(w, { x, labels, denominator: 1 });
  try {
    const grads = tf.reshape(point.gradient(0), [1, -1]) as tf.Tensor2D;
    const hu = point.hmp(wPrime, 0);
    return tf.mul(jac(tf.concat([grads, tf.mul(hu, 2)]) as tf.Tensor2D), scale) as tf.Tensor2D;
  } finally {
    point.dispose();
    tf.dispose([x, labels]);
  }
}
