// A certified upper bound on rho = max_t ||I - eta_t H_t|| for L2-regularised softmax
// regression from the run itself: each step's Hessian at its recorded weights, bounded from
// above with a floating-point proof, instead of the worst case over all weights that
// softmaxRegressionRhoBound takes (docs/method.md#rho).
//
// With x~_i = (x_i, 1) and p_i the softmax at w_t, the data part of H_t is
//   (1/|B|) sum_i S_i (x) x~_i x~_i^T,   S_i = diag(p_i) - p_i p_i^T = F_i^T F_i,
// where row c of F_i is sqrt(p_ic) (e_c - p_i) (S_i is the covariance of the one-hot label under
// p_i). So the data part is Phi^T Phi, and its largest eigenvalue is that of the small Gram matrix
//   M = Phi Phi^T,   M[(i,c),(j,c')] = (1/|B|) (F_i F_j^T)[c,c'] x~_i^T x~_j,
// of size |B| x classes (320 for MNIST at |B| = 32) instead of d = 7,850. The eigenvalues of H_t
// lie in [lambda, lambda + lambda_max(M)], so
//   ||I - eta_t H_t|| <= max(|1 - eta_t lambda|, |1 - eta_t (lambda + mu)|)   for any mu >= lambda_max(M),
// and mu is certified by a Cholesky factorisation of (mu - margin) I - M that succeeds in
// floating point (Rump's verification of positive definiteness): the margin covers the rounding
// of the factorisation and of M's own evaluation.
import { LetheError } from '@lethe/core';
import { spectralNorm } from './spectral-norm.js';
import { requireNonNegative, requirePositive } from './validate.js';

const U = 2 ** -53;

export interface SoftmaxStepNormQuery {
  /** The L2 regularisation lambda (the run's l2; the bias is regularised too). */
  readonly lambda: number;
  readonly classes: number;
  /** Inputs per sample (without the bias): 784 for MNIST. */
  readonly inputs: number;
  /** The training inputs, row-major [n, inputs], as the model receives them. */
  readonly x: ArrayLike<number>;
  /** Steps of the run: pass every step for a bound on rho over the run. */
  readonly steps: number;
  /** The step's eta_t, its batch (row ids) and its weights w_t (layout [classes, inputs + 1]). */
  readonly step: (t: number) => {
    readonly eta: number;
    readonly batch: ArrayLike<number>;
    readonly weights: ArrayLike<number>;
  };
  readonly onStep?: (done: number, total: number) => void;
}

export interface SoftmaxStepNorm {
  readonly step: number;
  readonly eta: number;
  /** A certified upper bound on lambda_max of the step's data Hessian. */
  readonly curvature: number;
  /** The certified upper bound on ||I - eta_t H_t||. */
  readonly rho: number;
}

export interface SoftmaxStepNormBound {
  /** max_t of the per-step bounds: a certified upper bound on rho over the steps given. */
  readonly value: number;
  /** The step attaining it. */
  readonly step: number;
  readonly perStep: readonly SoftmaxStepNorm[];
}

/**
 * Certified per-step bounds on ||I - eta_t H_t|| for softmax regression along a recorded run.
 * Each step costs one Cholesky factorisation of a (|B| classes)-sized matrix when the step
 * contracts (the usual case), a few more when it does not.
 */
export function softmaxRegressionStepNorms(query: SoftmaxStepNormQuery): SoftmaxStepNormBound {
  const where = 'softmaxRegressionStepNorms';
  const lambda = requireNonNegative(where, 'lambda', query.lambda);
  const { classes, inputs, x } = query;
  if (!Number.isInteger(classes) || classes < 2 || !Number.isInteger(inputs) || inputs < 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: classes = ${classes} and inputs = ${inputs}; expected integers >= 2 and >= 1.`,
    );
  }
  if (x.length % inputs !== 0) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: x has ${x.length} values, not a whole number of rows of ${inputs} inputs; pass the training inputs row-major.`,
    );
  }
  if (!Number.isInteger(query.steps) || query.steps < 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: steps = ${query.steps}; pass the run's number of steps (all of them, for a bound over the run).`,
    );
  }
  const n = x.length / inputs;
  const perStep: SoftmaxStepNorm[] = [];
  let worst = 0;
  for (let t = 0; t < query.steps; t++) {
    const { eta: rawEta, batch, weights } = query.step(t);
    const eta = requirePositive(where, `step ${t} eta`, rawEta);
    if (weights.length !== classes * (inputs + 1)) {
      throw new LetheError(
        'shape-mismatch',
        `${where}: step ${t} has ${weights.length} weights; softmax regression with ${classes} classes and ${inputs} inputs has ${classes * (inputs + 1)} (layout [classes, inputs + 1]).`,
      );
    }
    for (let k = 0; k < batch.length; k++) {
      const row = batch[k]!;
      if (!(Number.isInteger(row) && row >= 0 && row < n)) {
        throw new LetheError(
          'invalid-argument',
          `${where}: step ${t} batch has row ${row}, outside the ${n} rows of x.`,
        );
      }
    }
    const gram = dataGram(x, inputs, classes, { batch }, weights);
    // Contracting: ||I - eta H|| = 1 - eta lambda as soon as lambda_max(M) <= (2 - 2 eta lambda) / eta.
    const contracting = (2 - 2 * eta * lambda) / eta;
    const curvature =
      contracting > 0 && certifiesUpperBound(gram, contracting)
        ? contracting
        : certifiedLambdaMax(gram);
    const rho =
      Math.max(Math.abs(1 - eta * lambda), Math.abs(1 - eta * (lambda + curvature))) * (1 + 1e-12);
    perStep.push({ step: t, eta, curvature, rho });
    if (rho > perStep[worst]!.rho) worst = t;
    query.onStep?.(t + 1, query.steps);
  }
  return { value: perStep[worst]!.rho, step: worst, perStep };
}

/** Which rows a data Hessian sums, with what weights and over what denominator. */
export interface DataHessianRows {
  /** The batch's rows of x (the ones summed). */
  readonly batch: ArrayLike<number>;
  /** The mean's denominator (default: the number of rows). */
  readonly denominator?: number;
  /** Nonnegative weights c_i of each row's term (default 1). */
  readonly rowWeights?: ArrayLike<number>;
}

/**
 * A certified upper bound on lambda_max of the data Hessian (1/denominator) sum_i c_i S_i (x)
 * x~_i x~_i^T at the given weights, as tight as power iteration and the Cholesky test make it
 * (the removal bound needs the curvature itself, not only whether a step contracts).
 */
export function certifiedDataCurvature(
  x: ArrayLike<number>,
  inputs: number,
  classes: number,
  rows: DataHessianRows,
  weights: ArrayLike<number>,
): number {
  return certifiedLambdaMax(dataGram(x, inputs, classes, rows, weights));
}

/** Whether mu >= lambda_max of that data Hessian is proven (one Cholesky factorisation). */
export function certifiesDataCurvature(
  x: ArrayLike<number>,
  inputs: number,
  classes: number,
  rows: DataHessianRows,
  weights: ArrayLike<number>,
  mu: number,
): boolean {
  return certifiesUpperBound(dataGram(x, inputs, classes, rows, weights), mu);
}

interface Gram {
  readonly size: number;
  /** Row-major, symmetric. */
  readonly m: Float64Array;
  readonly trace: number;
  /** A bound on ||M_computed - M||_2 from the rounding of its evaluation. */
  readonly evaluationError: number;
}

/**
 * M[(i,c),(j,c')] = (1/|B|) sqrt(c_i c_j) (F_i F_j^T)[c,c'] x~_i^T x~_j, in float64 (c_i the
 * row weights, 1 by default).
 */
function dataGram(
  x: ArrayLike<number>,
  inputs: number,
  classes: number,
  rows: DataHessianRows,
  weights: ArrayLike<number>,
): Gram {
  const { batch, rowWeights } = rows;
  const b = batch.length;
  const denominator = rows.denominator ?? b;
  const size = b * classes;
  const stride = inputs + 1;
  // F_i for every sample: row c = sqrt(p_c) (e_c - p).
  const factors: Float64Array[] = [];
  for (let k = 0; k < b; k++) {
    const at = batch[k]! * inputs;
    const z = new Float64Array(classes);
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) {
      let s = weights[c * stride + inputs]!;
      for (let j = 0; j < inputs; j++) s += weights[c * stride + j]! * x[at + j]!;
      z[c] = s;
      if (s > max) max = s;
    }
    let total = 0;
    for (let c = 0; c < classes; c++) {
      z[c] = Math.exp(z[c]! - max);
      total += z[c]!;
    }
    const f = new Float64Array(classes * classes);
    const scale = rowWeights === undefined ? 1 : Math.sqrt(rowWeights[k]!);
    for (let c = 0; c < classes; c++) {
      const root = scale * Math.sqrt(z[c]! / total);
      for (let e = 0; e < classes; e++) {
        f[c * classes + e] = root * ((c === e ? 1 : 0) - z[e]! / total);
      }
    }
    factors.push(f);
  }
  const m = new Float64Array(size * size);
  for (let i = 0; i < b; i++) {
    const xi = batch[i]! * inputs;
    for (let j = i; j < b; j++) {
      const xj = batch[j]! * inputs;
      let k = 1; // the bias coordinate
      for (let q = 0; q < inputs; q++) k += x[xi + q]! * x[xj + q]!;
      const fi = factors[i]!;
      const fj = factors[j]!;
      for (let c = 0; c < classes; c++) {
        for (let e = 0; e < classes; e++) {
          let ff = 0;
          for (let r = 0; r < classes; r++) ff += fi[c * classes + r]! * fj[e * classes + r]!;
          const value = (ff * k) / denominator;
          m[(i * classes + c) * size + j * classes + e] = value;
          m[(j * classes + e) * size + i * classes + c] = value;
        }
      }
    }
  }
  let trace = 0;
  for (let a = 0; a < size; a++) trace += m[a * size + a]!;
  // Each entry is a product of two dot products (inputs + 1 and classes terms) of factors whose
  // own relative error is a few u (softmax, square root): its error is below
  // 2 (inputs + classes + 4) u times the same entry of the matrix built from absolute values,
  // whose Frobenius norm is at most its trace, tr(M) (each block is a rank-one outer product
  // of nonnegative vectors). Doubled.
  const evaluationError = 4 * (inputs + classes + 4) * U * trace + Number.MIN_VALUE;
  return { size, m, trace, evaluationError };
}

/**
 * Whether mu >= lambda_max(M) is proven: Cholesky of (mu - margin) I - M succeeds. The margin
 * covers the factorisation's rounding (Rump 2006: a successful float Cholesky of A - c I with
 * c >= (n + 2) u tr(A) / (1 - (n + 2) u), doubled here) and the evaluation error of M itself.
 */
function certifiesUpperBound(gram: Gram, mu: number): boolean {
  const { size, m, trace } = gram;
  const traceA = size * mu - trace;
  if (!(traceA > 0)) return false;
  const gamma = (size + 2) * U;
  const margin = (2 * gamma * traceA) / (1 - gamma) + gram.evaluationError;
  const a = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c <= r; c++) {
      a[r * size + c] = (r === c ? mu - margin : 0) - m[r * size + c]!;
    }
  }
  // In-place lower Cholesky; any non-positive pivot means not proven.
  for (let j = 0; j < size; j++) {
    let d = a[j * size + j]!;
    for (let k = 0; k < j; k++) d -= a[j * size + k]! ** 2;
    if (!(d > 0)) return false;
    const l = Math.sqrt(d);
    a[j * size + j] = l;
    for (let r = j + 1; r < size; r++) {
      let s = a[r * size + j]!;
      for (let k = 0; k < j; k++) s -= a[r * size + k]! * a[j * size + k]!;
      a[r * size + j] = s / l;
    }
  }
  return true;
}

/**
 * A certified upper bound on lambda_max(M): spectralNorm's power-iteration estimate, raised until the Cholesky
 * test proves it, or the trace (always an upper bound for a positive semi-definite M).
 */
function certifiedLambdaMax(gram: Gram): number {
  const { size, m, trace } = gram;
  const estimate = spectralNorm(
    {
      dim: size,
      apply: (v) => {
        const w = new Float64Array(size);
        for (let r = 0; r < size; r++) {
          let sum = 0;
          for (let c = 0; c < size; c++) sum += m[r * size + c]! * v[c]!;
          w[r] = sum;
        }
        return w;
      },
    },
    { iterations: 200, tolerance: 1e-9 },
  ).value;
  let mu = estimate * (1 + 1e-6) + Number.MIN_VALUE;
  for (let attempt = 0; attempt < 30 && mu < trace; attempt++) {
    if (certifiesUpperBound(gram, mu)) return mu;
    mu *= 1.02;
  }
  return trace * (1 + 1e-9);
}
