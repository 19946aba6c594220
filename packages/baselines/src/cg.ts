import { LetheError } from '@lethe/core';
/** Options of the conjugate-gradient solver. */
export interface CgOptions {
  /** Stop when ||b - A x|| <= tolerance * ||b|| (default 1e-6; float32 products limit it). */
  readonly tolerance?: number;
  /** Default 500. */
  readonly maxIterations?: number;
}

export interface CgResult {
  readonly x: Float64Array;
  readonly iterations: number;
  /** Relative residual ||b - A x|| / ||b|| of the recursion. */
  readonly residual: number;
  readonly converged: boolean;
  /** A direction p with p^T A p <= 0 was met: A is not positive definite. */
  readonly negativeCurvature: boolean;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Conjugate gradients for A x = b with A symmetric positive definite, given as a product. */
export function conjugateGradient(
  apply: (v: Float64Array) => Float64Array,
  b: Float64Array,
  options: CgOptions = {},
): CgResult {
  const steps = cgSteps(b, options);
  let next = steps.next();
  while (!next.done) next = steps.next(apply(next.value));
  return next.value;
}

/** The same, with a product that answers asynchronously (e.g. from worker threads). */
export async function conjugateGradientAsync(
  apply: (v: Float64Array) => Promise<Float64Array>,
  b: Float64Array,
  options: CgOptions = {},
): Promise<CgResult> {
  const steps = cgSteps(b, options);
  let next = steps.next();
  while (!next.done) next = steps.next(await apply(next.value));
  return next.value;
}

/** The iteration itself: yields each direction p and is resumed with A p. */
function* cgSteps(
  b: Float64Array,
  options: CgOptions,
): Generator<Float64Array, CgResult, Float64Array> {
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 500;
  if (!(tolerance > 0))
    throw new LetheError('invalid-argument', `CG tolerance = ${tolerance} must be > 0.`);
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1))
    throw new LetheError(
      'invalid-argument',
      `CG maxIterations = ${maxIterations} must be an integer >= 1.`,
    );
  const n = b.length;
  const x = new Float64Array(n);
  const bNorm = Math.sqrt(dot(b, b));
  if (bNorm === 0)
    return { x, iterations: 0, residual: 0, converged: true, negativeCurvature: false };
  const r = Float64Array.from(b);
  const p = Float64Array.from(b);
  let rr = dot(r, r);
  for (let it = 1; it <= maxIterations; it++) {
    const ap: Float64Array = yield p;
    const pap = dot(p, ap);
    if (!(pap > 0)) {
      return {
        x,
        iterations: it,
        residual: Math.sqrt(rr) / bNorm,
        converged: false,
        negativeCurvature: true,
      };
    }
    const alpha = rr / pap;
    for (let i = 0; i < n; i++) {
      x[i]! += alpha * p[i]!;
      r[i]! -= alpha * ap[i]!;
    }
    const rrNext = dot(r, r);
    if (Math.sqrt(rrNext) <= tolerance * bNorm) {
      return {
        x,
        iterations: it,
        residual: Math.sqrt(rrNext) / bNorm,
        converged: true,
        negativeCurvature: false,
      };
    }
    const beta = rrNext / rr;
    rr = rrNext;
    for (let i = 0; i < n; i++) p[i] = r[i]! + beta * p[i]!;
  }
  return {
    x,
    iterations: maxIterations,
    residual: Math.sqrt(rr) / bNorm,
    converged: false,
    negativeCurvature: false,
  };
}
