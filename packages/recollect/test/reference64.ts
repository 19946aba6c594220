/**
 * A float64 plain-TypeScript reference of the whole method for logistic regression: the
 * training run (with per-sample weights and either normaliser) and the approximator recursion.
 */

import { gradient64, hvp64, type Problem64 } from '../../autodiff/test/reference64.js';
import type { TrainConfig } from '../src/index.js';
import { buildSchedule } from '../src/index.js';

export interface Data64 {
  inputs: number;
  classes: number;
  x: Float64Array;
  y: Int32Array;
  n: number;
}

const rows = (data: Data64, ids: ArrayLike<number>): Float64Array => {
  const out = new Float64Array(ids.length * data.inputs);
  Array.from(ids).forEach((id, i) =>
    out.set(data.x.subarray(id * data.inputs, (id + 1) * data.inputs), i * data.inputs),
  );
  return out;
};

const problem = (data: Data64, ids: ArrayLike<number>, l2: number): Problem64 => ({
  inputs: data.inputs,
  classes: data.classes,
  x: rows(data, ids),
  y: Int32Array.from(ids, (id) => data.y[id]!),
  l2,
});

/** Cross-entropy gradient of one sample (no regulariser). */
export function sampleGradient64(data: Data64, id: number, w: ArrayLike<number>): Float64Array {
  return gradient64(problem(data, [id], 0), w);
}

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

/** Runs SGD in float64; returns w_t for t = 0..T. */
export function train64(
  data: Data64,
  config: TrainConfig,
  w0: ArrayLike<number>,
  weights: ReadonlyMap<number, number> = new Map(),
  normaliser: 'batch' | 'remaining' = 'batch',
): Float64Array[] {
  const schedule = buildSchedule(data.n, config);
  const ws = [Float64Array.from(w0)];
  for (const step of schedule) {
    const w = ws[ws.length - 1]!;
    const c = Array.from(step.batch, (id) => weights.get(id) ?? 1);
    const denom =
      normaliser === 'batch' ? step.batch.length : Math.max(1, c.filter((v) => v !== 0).length);
    const g = Float64Array.from(w, (v) => config.l2 * v);
    Array.from(step.batch).forEach((id, i) => {
      if (c[i] === 0) return;
      const gi = sampleGradient64(data, id, w);
      for (let j = 0; j < g.length; j++) g[j]! += (c[i]! * gi[j]!) / denom;
    });
    const gn = norm(g);
    const scale = gn > config.clip ? config.clip / gn : 1;
    ws.push(Float64Array.from(w, (v, j) => v - step.eta * scale * g[j]!));
  }
  return ws;
}

/** The approximator recursion of METHOD.md in float64, for one sample. */
export function approximator64(
  data: Data64,
  config: TrainConfig,
  ws: Float64Array[],
  u: number,
): Float64Array {
  const schedule = buildSchedule(data.n, config);
  let a = new Float64Array(ws[0]!.length);
  schedule.forEach((step, t) => {
    const w = ws[t]!;
    const p = problem(data, step.batch, config.l2);
    const g = gradient64(p, w);
    const gn = norm(g);
    const clipped = gn > config.clip;
    const jac = (v: Float64Array): Float64Array => {
      if (!clipped) return v;
      const dot = v.reduce((s, x, j) => s + (x * g[j]!) / gn, 0);
      return Float64Array.from(v, (x, j) => (config.clip / gn) * (x - (dot * g[j]!) / gn));
    };
    const ja = jac(hvp64(p, w, a));
    a = Float64Array.from(a, (x, j) => x - step.eta * ja[j]!);
    if (Array.from(step.batch).includes(u)) {
      const inj = jac(sampleGradient64(data, u, w));
      a = Float64Array.from(a, (x, j) => x + (step.eta / step.batch.length) * inj[j]!);
    }
  });
  return a;
}

/** Counts the steps whose batch gradient was clipped (tests want both kinds). */
export function clippedSteps(data: Data64, config: TrainConfig, ws: Float64Array[]): number {
  return buildSchedule(data.n, config).filter(
    (step, t) => norm(gradient64(problem(data, step.batch, config.l2), ws[t]!)) > config.clip,
  ).length;
}
