import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';

/** A symmetric matrix, n x n, row-major; only its lower triangle is read. */
export type SymmetricMatrix = Float32Array | Float64Array;

/** Thrown when a pivot is not positive: the matrix (plus the shift) is not positive definite. */
export class NotPositiveDefiniteError extends LetheError<'not-converged'> {
  constructor(
    readonly pivot: number,
    readonly value: number,
  ) {
    super(
      'not-converged',
      `Cholesky factorisation failed at pivot ${pivot} (value ${value}): the matrix is not positive definite; add damping (mu I).`,
    );
    this.name = 'NotPositiveDefiniteError';
  }
}

export interface CholeskyOptions {
  /** Factorise A + shift I instead of A (default 0). */
  readonly shift?: number;
  /** Columns per panel of the blocked algorithm (default 256). */
  readonly blockSize?: number;
  /** Rows per trailing-update product (default 1024). */
  readonly bandRows?: number;
}

/** The lower Cholesky factor L (A = L L^T), n x n row-major; the strict upper part is zero. */
export interface CholeskyFactor {
  readonly n: number;
  readonly lower: Float32Array;
}

function checkSquare(a: SymmetricMatrix, n: number, what: string): void {
  if (!(Number.isInteger(n) && n >= 1))
    throw new LetheError('invalid-argument', `${what}: n = ${n} must be >= 1.`);
  if (a.length !== n * n) {
    throw new LetheError(
      'shape-mismatch',
      `${what}: matrix has ${a.length} values, expected n * n = ${n * n}.`,
    );
  }
}

/**
 * Plain unblocked Cholesky in float64 (reference and small matrices): O(n^3 / 3) scalar
 * operations. Returns the lower factor in float64.
 */
export function choleskyFloat64(a: SymmetricMatrix, n: number, shift = 0): Float64Array {
  checkSquare(a, n, 'choleskyFloat64');
  const l = new Float64Array(n * n);
  factorDiagonalBlock(a, n, 0, n, shift, l, n, 0);
  return l;
}

/**
 * Factorises the b x b block of `a` (leading dimension lda) starting at (k0, k0) into `out`
 * (leading dimension ldo, placed at (o0, o0)); float64 throughout.
 */
function factorDiagonalBlock(
  a: SymmetricMatrix,
  lda: number,
  k0: number,
  b: number,
  shift: number,
  out: Float64Array,
  ldo: number,
  globalOffset: number,
): void {
  for (let j = 0; j < b; j++) {
    const rowJ = j * ldo;
    let diag = a[(k0 + j) * lda + k0 + j]! + shift;
    for (let p = 0; p < j; p++) diag -= out[rowJ + p]! ** 2;
    if (!(diag > 0)) throw new NotPositiveDefiniteError(globalOffset + j, diag);
    const ljj = Math.sqrt(diag);
    out[rowJ + j] = ljj;
    for (let i = j + 1; i < b; i++) {
      const rowI = i * ldo;
      let s = a[(k0 + i) * lda + k0 + j]!;
      for (let p = 0; p < j; p++) s -= out[rowI + p]! * out[rowJ + p]!;
      out[rowI + j] = s / ljj;
    }
  }
}

/** Inverse of a b x b lower-triangular matrix (row-major, float64), by forward substitution. */
function invertLower(l: Float64Array, b: number): Float64Array {
  const inv = new Float64Array(b * b);
  for (let j = 0; j < b; j++) {
    inv[j * b + j] = 1 / l[j * b + j]!;
    for (let i = j + 1; i < b; i++) {
      let s = 0;
      for (let p = j; p < i; p++) s += l[i * b + p]! * inv[p * b + j]!;
      inv[i * b + j] = -s / l[i * b + i]!;
    }
  }
  return inv;
}

/**
 * Blocked right-looking Cholesky: A + shift I = L L^T, reading only A's lower triangle.
 *
 * Per panel of b columns: the diagonal block is factorised in float64 in JavaScript (b^3/3),
 * the panel below it is solved as A21 L11^{-T} (one tfjs matMul with the explicit inverse of
 * the small triangular factor), and the lower part of the trailing matrix is updated as
 * A22 - L21 L21^T by tfjs matMuls over row bands (float32; on the wasm backend ~25 GFLOP/s
 * against ~1 for scalar JavaScript), the band products subtracted in place in JavaScript.
 * Only the lower triangle is updated, so the products cost n^3/3 multiply-adds in all.
 * Throws NotPositiveDefiniteError at the first non-positive pivot.
 */
export function choleskyBlocked(
  a: SymmetricMatrix,
  n: number,
  options: CholeskyOptions = {},
): CholeskyFactor {
  checkSquare(a, n, 'choleskyBlocked');
  const shift = options.shift ?? 0;
  const nb = options.blockSize ?? 256;
  const band = Math.max(nb, options.bandRows ?? 1024);
  if (!(Number.isInteger(nb) && nb >= 1))
    throw new LetheError('invalid-argument', `Cholesky blockSize = ${nb} must be an integer >= 1.`);
  if (!Number.isFinite(shift))
    throw new LetheError('non-finite', `Cholesky shift = ${shift} must be finite.`);
  // Working copy of the lower triangle; it becomes L in place.
  const w = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    for (let j = 0; j <= i; j++) w[row + j] = a[row + j]!;
    w[row + i]! += shift;
  }
  for (let k0 = 0; k0 < n; k0 += nb) {
    const r = n - k0;
    const b = Math.min(nb, r);
    const l11 = new Float64Array(b * b);
    factorDiagonalBlock(w, n, k0, b, 0, l11, b, k0);
    for (let i = 0; i < b; i++) {
      const row = (k0 + i) * n + k0;
      for (let j = 0; j <= i; j++) w[row + j] = l11[i * b + j]!;
    }
    if (b === r) break;
    const below = r - b;
    const panel = new Float32Array(below * b);
    for (let i = 0; i < below; i++) {
      const row = (k0 + b + i) * n + k0;
      panel.set(w.subarray(row, row + b), i * b);
    }
    const invT = transposeToFloat32(invertLower(l11, b), b);
    const [l21, l21T] = tf.tidy(() => {
      const l = tf.matMul(tf.tensor2d(panel, [below, b]), tf.tensor2d(invT, [b, b]));
      // Plain matMul below: the wasm backend is an order of magnitude slower with transpose flags.
      return [l, tf.transpose(l)] as const;
    });
    try {
      const l21Values = l21.dataSync() as Float32Array;
      for (let i = 0; i < below; i++) {
        const row = (k0 + b + i) * n + k0;
        w.set(l21Values.subarray(i * b, (i + 1) * b), row);
      }
      // Lower trailing update, one band of rows at a time: rows [i0, i1) need columns
      // [k0 + b, i1) (the band's part left of and on the diagonal).
      for (let i0 = 0; i0 < below; i0 += band) {
        const i1 = Math.min(below, i0 + band);
        // (tidy must not return the typed array itself: it would walk every element.)
        const productTensor = tf.tidy(() =>
          tf.matMul(
            tf.slice(l21, [i0, 0], [i1 - i0, b]),
            i1 === below ? l21T : tf.slice(l21T, [0, 0], [b, i1]),
          ),
        );
        const product = productTensor.dataSync() as Float32Array;
        productTensor.dispose();
        for (let i = i0; i < i1; i++) {
          const row = (k0 + b + i) * n + k0 + b;
          const off = (i - i0) * i1;
          for (let j = 0; j <= i; j++) w[row + j]! -= product[off + j]!;
        }
      }
    } finally {
      l21.dispose();
      l21T.dispose();
    }
  }
  return { n, lower: w };
}

function transposeToFloat32(m: Float64Array, b: number): Float32Array {
  const out = new Float32Array(b * b);
  for (let i = 0; i < b; i++) for (let j = 0; j < b; j++) out[j * b + i] = m[i * b + j]!;
  return out;
}

/** Solves (L L^T) x = rhs in float64 with the factor from choleskyBlocked. */
export function choleskySolve(factor: CholeskyFactor, rhs: ArrayLike<number>): Float64Array {
  const { n, lower } = factor;
  if (rhs.length !== n)
    throw new LetheError(
      'shape-mismatch',
      `choleskySolve: right-hand side has ${rhs.length} values, expected ${n}.`,
    );
  // Forward: L y = rhs (row-oriented).
  const y = Float64Array.from(rhs);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let s = y[i]!;
    for (let j = 0; j < i; j++) s -= lower[row + j]! * y[j]!;
    y[i] = s / lower[row + i]!;
  }
  // Backward: L^T x = y, column-oriented over the rows of L so that memory is read in order.
  for (let i = n - 1; i >= 0; i--) {
    const row = i * n;
    const xi = y[i]! / lower[row + i]!;
    y[i] = xi;
    for (let j = 0; j < i; j++) y[j]! -= lower[row + j]! * xi;
  }
  return y;
}

export interface DampedFactor {
  readonly factor: CholeskyFactor;
  /** The damping mu that made A + mu I positive definite (0 if A itself was). */
  readonly mu: number;
  /** Factorisations tried (1 when no damping was needed). */
  readonly attempts: number;
  readonly seconds: number;
}

export interface DampingOptions {
  /** First damping tried after a failure, relative to the mean diagonal (default 1e-6). */
  readonly initialRelative?: number;
  /** Factor by which mu grows on every further failure (default 10). */
  readonly growth?: number;
  /** Give up after this many factorisations (default 12). */
  readonly maxAttempts?: number;
  readonly blockSize?: number;
}

/**
 * Cholesky of A, damped when A is not positive definite: on a failed factorisation retry with
 * A + mu I, mu = initialRelative * mean(diag A) (or initialRelative when that is not positive),
 * growing by `growth` per failure. Records mu.
 */
export function factorWithDamping(
  a: SymmetricMatrix,
  n: number,
  options: DampingOptions = {},
): DampedFactor {
  const started = performance.now();
  const growth = options.growth ?? 10;
  const maxAttempts = options.maxAttempts ?? 12;
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += Math.abs(a[i * n + i]!) / n;
  let mu = 0;
  let lastError: unknown;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    try {
      const factor = choleskyBlocked(a, n, { shift: mu, blockSize: options.blockSize });
      return { factor, mu, attempts: attempt, seconds: (performance.now() - started) / 1000 };
    } catch (err) {
      if (!(err instanceof NotPositiveDefiniteError)) throw err;
      lastError = err;
      mu =
        mu === 0 ? (options.initialRelative ?? 1e-6) * (meanDiag > 0 ? meanDiag : 1) : mu * growth;
    }
  }
  throw new LetheError(
    'not-converged',
    `The Hessian stayed indefinite after ${maxAttempts} damped factorisations (last mu tried ${mu / growth}): ${(lastError as Error).message} Raise maxAttempts or the damping.`,
  );
}
