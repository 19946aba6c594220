/** Float64 references for the tests: a plain Cholesky and the logistic model's Hessian. */

export function cholesky64(a: ArrayLike<number>, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j]!;
    for (let p = 0; p < j; p++) s -= l[j * n + p]! ** 2;
    if (!(s > 0)) throw new Error(`reference Cholesky: pivot ${j} is ${s}`);
    l[j * n + j] = Math.sqrt(s);
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j]!;
      for (let p = 0; p < j; p++) t -= l[i * n + p]! * l[j * n + p]!;
      l[i * n + j] = t / l[j * n + j]!;
    }
  }
  return l;
}

/** A seeded random symmetric positive definite matrix X X^T / k + shift I, float64. */
export function randomSpd(n: number, k: number, shift: number, seed: number): Float64Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const x = Float64Array.from({ length: n * k }, rand);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let t = 0;
      for (let p = 0; p < k; p++) t += x[i * k + p]! * x[j * k + p]!;
      a[i * n + j] = a[j * n + i] = t / k + (i === j ? shift : 0);
    }
  }
  return a;
}

export function matVec(a: ArrayLike<number>, n: number, v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let j = 0; j < n; j++) t += a[i * n + j]! * v[j]!;
    out[i] = t;
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

export function norm(a: ArrayLike<number>): number {
  return distance(a, new Float64Array(a.length));
}

/**
 * Closed-form Hessian of softmax cross-entropy for logistic regression (layout [C, in + 1], bias
 * last): sum_i (diag(p_i) - p_i p_i^T) (x) (x~_i x~_i^T), x~ = (x, 1). Float64, d x d.
 */
export function logisticHessian64(
  w: ArrayLike<number>,
  x: ArrayLike<number>,
  ids: readonly number[],
  inputs: number,
  classes: number,
): Float64Array {
  const cols = inputs + 1;
  const d = classes * cols;
  const h = new Float64Array(d * d);
  for (const i of ids) {
    const xa = Float64Array.from({ length: cols }, (_, j) => (j < inputs ? x[i * inputs + j]! : 1));
    const z = Array.from({ length: classes }, (_, c) => {
      let t = 0;
      for (let j = 0; j < cols; j++) t += w[c * cols + j]! * xa[j]!;
      return t;
    });
    const zmax = Math.max(...z);
    const e = z.map((v) => Math.exp(v - zmax));
    const sum = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / sum);
    for (let c = 0; c < classes; c++) {
      for (let c2 = 0; c2 < classes; c2++) {
        const s = (c === c2 ? p[c]! : 0) - p[c]! * p[c2]!;
        if (s === 0) continue;
        for (let j = 0; j < cols; j++) {
          const row = (c * cols + j) * d + c2 * cols;
          for (let j2 = 0; j2 < cols; j2++) h[row + j2]! += s * xa[j]! * xa[j2]!;
        }
      }
    }
  }
  return h;
}
