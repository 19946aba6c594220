// Float64 references for the tests: a cyclic Jacobi eigenvalue routine, a seeded generator for
// test data, and a small logistic-regression problem with its exact Hessian.

/** Eigenvalues of a symmetric matrix (row-major, n x n) by cyclic Jacobi rotations. */
export function jacobiEigenvalues(matrix: readonly number[][]): number[] {
  const n = matrix.length;
  const a = matrix.map((row) => [...row]);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i]![j]! ** 2;
        if (i !== j) off += a[i]![j]! ** 2;
      }
    }
    if (off <= 1e-30 * total) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p]![q]!;
        if (apq === 0) continue;
        // Rotation angle that zeroes a[p][q] (Golub & Van Loan, Alg. 8.4.1).
        const tau = (a[q]![q]! - a[p]![p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k]![p]!;
          const akq = a[k]![q]!;
          a[k]![p] = c * akp - s * akq;
          a[k]![q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p]![k]!;
          const aqk = a[q]![k]!;
          a[p]![k] = c * apk - s * aqk;
          a[q]![k] = s * apk + c * aqk;
        }
      }
    }
  }
  return a.map((row, i) => row[i]!).sort((x, y) => x - y);
}

/** Park-Miller style generator for test data only (deterministic, not for noise). */
export function testRandom(seed: number): () => number {
  let state = seed % 2147483647 || 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

export function matVec(matrix: readonly number[][], v: ArrayLike<number>): Float64Array {
  const out = new Float64Array(matrix.length);
  matrix.forEach((row, i) => {
    let s = 0;
    for (let j = 0; j < row.length; j++) s += row[j]! * v[j]!;
    out[i] = s;
  });
  return out;
}

/**
 * Binary logistic regression, n samples in d dimensions, at weights w: the Hessian of
 * (1/n) sum log(1 + exp(-y x.w)) + (lambda/2)||w||^2, i.e. (1/n) X^T diag(p(1-p)) X + lambda I.
 */
export function logisticHessian(n: number, d: number, lambda: number, seed: number): number[][] {
  const rand = testRandom(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: d }, () => 2 * rand() - 1));
  const w = Array.from({ length: d }, () => rand() - 0.5);
  const h = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const xi of x) {
    const z = xi.reduce((s, xij, j) => s + xij * w[j]!, 0);
    const p = 1 / (1 + Math.exp(-z));
    const curvature = p * (1 - p);
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < d; k++) h[j]![k]! += (curvature * xi[j]! * xi[k]!) / n;
    }
  }
  for (let j = 0; j < d; j++) h[j]![j]! += lambda;
  return h;
}
