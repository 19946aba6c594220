import { applyClipJacobian, clipState, type Model } from '@lethe/autodiff';
import { validateSampleIds } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { DataTensors, type TrainingData, validateData } from './data.js';
import { WeightsCursor } from './replay.js';
import {
  assertDataMatches,
  assertTrajectoryMatches,
  finalWeights,
  type Trajectory,
} from './trajectory.js';

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
 * Second-order recollection for a deletion set U: one pass over the trajectory carrying the
 * set's first-order path w'_t and its second derivative w''_t (both recursions are derived in
 * docs/method.md#second-order-refinement). Not additive over requests: recompute for the whole
 * set as it grows.
 */
export interface SecondOrderOptions {
  /**
   * Include the second derivative of clipping on clipped steps (default true): then the
   * recursion is the exact second derivative of the run wherever no gradient norm sits exactly
   * at the threshold; false drops it (the form without clipping curvature). See
   * docs/method.md#the-clipping-curvature.
   */
  readonly clipCurvature?: boolean;
  readonly onStep?: (step: number, total: number) => void;
}

export function secondOrderUpdate(
  model: Model,
  training: TrainingData | DataTensors,
  trajectory: Trajectory,
  removed: ArrayLike<number>,
  options: SecondOrderOptions = {},
): SecondOrderResult {
  assertTrajectoryMatches(trajectory, model);
  if (!(training instanceof DataTensors)) {
    validateData(model, training);
    assertDataMatches(trajectory, training, 'secondOrderUpdate');
  }
  const set = new Set(
    validateSampleIds(removed, {
      context: 'secondOrderUpdate',
      n: trajectory.n,
      allowEmpty: true,
    }),
  );
  const data = training instanceof DataTensors ? training : new DataTensors(model, training);
  const { onStep } = options;
  const started = performance.now();
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
        const hv = point.hmp(current, l2);
        const sums = members.length > 0 ? memberSums(model, data, w, members, wPrime) : null;
        const size = step.batch.length;
        // gDot = d/domega grad L_t(w_t(omega)) = H w' - (1/|B|) sum grad l_u;
        // its derivative adds T[w', w'] + H w'' - (2/|B|) sum H_u w'.
        let gDot = tf.slice(hv, [0, 0], [1, d]);
        let gDDot = tf.slice(hv, [1, 0], [1, d]);
        if (state !== null) gDDot = tf.add(gDDot, point.thirdDerivative(wPrime));
        if (sums) {
          gDot = tf.sub(gDot, tf.div(sums.gradients, size));
          gDDot = tf.sub(gDDot, tf.mul(sums.hessian, 2 / size));
        }
        let out = tf.sub(current, tf.mul(jac(tf.concat([gDot, gDDot]) as tf.Tensor2D), step.eta));
        if (cs.clipped && options.clipCurvature !== false) {
          const curvature = clipSecondDerivative(g, cs.norm, clip, gDot as tf.Tensor2D);
          out = tf.sub(out, tf.concat([tf.zeros([1, d]), tf.mul(curvature, step.eta)]));
        }
        return out as tf.Tensor2D;
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

/** sum_u grad l(w; u) and sum_u H_u(w) w' over the members of U in this batch. */
function memberSums(
  model: Model,
  data: DataTensors,
  w: tf.Tensor1D,
  members: Int32Array,
  wPrime: tf.Tensor2D,
) {
  const { x, labels } = data.gather(members);
  // Denominator 1 and no regulariser: the point's gradient and HMP are the members' sums.
  const point = model.at(w, { x, labels, denominator: 1 });
  try {
    return { gradients: tf.reshape(point.gradient(0), [1, -1]), hessian: point.hmp(wPrime, 0) };
  } finally {
    point.dispose();
    tf.dispose([x, labels]);
  }
}

/**
 * The second derivative of clip(g) = C g / ||g|| (a clipped step) along u, twice:
 * -(C/r^2) (2 (g^.u) P u + g^ ||P u||^2), with r = ||g||, g^ = g/r, P = I - g^ g^T
 * (docs/method.md#the-clipping-curvature).
 */
function clipSecondDerivative(g: tf.Tensor1D, r: number, c: number, u: tf.Tensor2D): tf.Tensor2D {
  const gHat = tf.reshape(tf.div(g, r), [1, -1]);
  const along = tf.sum(tf.mul(gHat, u));
  const pu = tf.sub(u, tf.mul(gHat, along));
  const pu2 = tf.sum(tf.square(pu));
  return tf.mul(
    tf.add(tf.mul(pu, tf.mul(along, 2)), tf.mul(gHat, pu2)),
    -c / (r * r),
  ) as tf.Tensor2D;
}
