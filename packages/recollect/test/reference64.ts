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

/** docs/method.md#the-approximator-recursion in float64, for one sample. */
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

/** T[v, v] of the batch objective for logistic regression in float64 (closed form). */
export function third64(p: Problem64, w: ArrayLike<number>, v: ArrayLike<number>): Float64Array {
  const { inputs, classes, y } = p;
  const cols = inputs + 1;
  const b = y.length;
  const out = new Float64Array(classes * cols);
  for (let i = 0; i < b; i++) {
    const xa = Array.from({ length: cols }, (_, j) => (j === inputs ? 1 : p.x[i * inputs + j]!));
    const z = Array.from({ length: classes }, (_, c) =>
      xa.reduce((s, xj, j) => s + w[c * cols + j]! * xj, 0),
    );
    const zd = Array.from({ length: classes }, (_, c) =>
      xa.reduce((s, xj, j) => s + v[c * cols + j]! * xj, 0),
    );
    const m = Math.max(...z);
    const e = z.map((zc) => Math.exp(zc - m));
    const sum = e.reduce((a, c) => a + c, 0);
    const pr = e.map((ec) => ec / sum);
    const s = pr.reduce((acc, pc, c) => acc + pc * zd[c]!, 0);
    const p1 = pr.map((pc, c) => pc * (zd[c]! - s));
    const s1 = p1.reduce((acc, pc, c) => acc + pc * zd[c]!, 0);
    const p2 = pr.map((pc, c) => p1[c]! * (zd[c]! - s) - pc * s1);
    for (let c = 0; c < classes; c++)
      for (let j = 0; j < cols; j++) out[c * cols + j]! += (p2[c]! * xa[j]!) / b;
  }
  return out;
}

/**
 * The second-order recursion in float64 (docs/method.md#second-order-refinement): returns
 * [w'_T, w''_T]. With clipCurvature, clipped steps add the second derivative of clipping (the
 * engine's default); without it, the recursion is exact only where no step clips.
 */
export function secondOrder64(
  data: Data64,
  config: TrainConfig,
  ws: Float64Array[],
  removed: number[],
  clipCurvature = true,
): [Float64Array, Float64Array] {
  const schedule = buildSchedule(data.n, config);
  const d = ws[0]!.length;
  let w1 = new Float64Array(d);
  let w2 = new Float64Array(d);
  schedule.forEach((step, t) => {
    const w = ws[t]!;
    const p = problem(data, step.batch, config.l2);
    const g = gradient64(p, w);
    const r = norm(g);
    const clipped = r > config.clip;
    const gHat = g.map((x) => x / r);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      Array.from(a).reduce((s, x, j) => s + x * b[j]!, 0);
    const jac = (v: Float64Array): Float64Array => {
      if (!clipped) return v;
      const a = dot(v, gHat);
      return Float64Array.from(v, (x, j) => (config.clip / r) * (x - a * gHat[j]!));
    };
    const size = step.batch.length;
    const gDot = hvp64(p, w, w1);
    const gDDot = Float64Array.from(hvp64(p, w, w2), (x, j) => x + third64(p, w, w1)[j]!);
    for (const u of Array.from(step.batch).filter((id) => removed.includes(id))) {
      const gu = sampleGradient64(data, u, w);
      const hu = hvp64(problem(data, [u], 0), w, w1);
      for (let j = 0; j < d; j++) {
        gDot[j]! -= gu[j]! / size;
        gDDot[j]! -= (2 * hu[j]!) / size;
      }
    }
    const j1 = jac(gDot);
    const j2 = jac(gDDot);
    const curvature = new Float64Array(d);
    if (clipped && clipCurvature) {
      const a = dot(gDot, gHat);
      const pu = gDot.map((x, j) => x - a * gHat[j]!);
      const pu2 = dot(pu, pu);
      for (let j = 0; j < d; j++)
        curvature[j] = (-config.clip / (r * r)) * (2 * a * pu[j]! + gHat[j]! * pu2);
    }
    w1 = Float64Array.from(w1, (x, j) => x - step.eta * j1[j]!);
    w2 = Float64Array.from(w2, (x, j) => x - step.eta * (j2[j]! + curvature[j]!));
  });
  return [w1, w2];
}
