// A certified upper bound on rho = max_t ||I - eta_t H_t|| for L2-regularised softmax
// (multinomial logistic) regression, from the data alone: unlike power iteration, which
// approaches the norm from below, this bounds it from above, so a certificate may carry it as
// 'measured upper bound' (docs/method.md#rho).
//
// With logits W x + b and the objective L_t(w) = (1/|B_t|) sum_i CE(W x_i + b, y_i)
// + (lambda/2) ||w||^2 (the bias regularised too, as Lethe's models do), the Hessian is
//   H_t = lambda I + (1/|B_t|) sum_i (diag(p_i) - p_i p_i^T) (x) x~_i x~_i^T,   x~_i = (x_i, 1),
// each term positive semi-definite with norm lambda_max(diag(p) - p p^T) ||x~_i||^2. For unit v,
// v^T (diag(p) - p p^T) v is the variance of v under p, at most (max v - min v)^2 / 4 <= 1/2,
// so the eigenvalues of H_t lie in [lambda, lambda + L_t] with
//   L_t = (1/(2 |B_t|)) sum_i (||x_i||^2 + 1),
// whatever the weights, and ||I - eta_t H_t|| <= max(|1 - eta_t lambda|, |1 - eta_t (lambda + L_t)|).
// The 1/2 is attained (two classes, p = (1/2, 1/2), one sample).
import { LetheError } from '@lethe/core';
import { requireNonNegative, requirePositive } from './validate.js';

/** Relative headroom over the float64 evaluation of the bound (sums of at most 2^20 terms). */
const EVALUATION_HEADROOM = 1e-9;

export interface SoftmaxRhoStep {
  /** The step size eta_t. */
  readonly eta: number;
  /** ||x_i||^2 of each sample in the step's batch, as the model receives it (without the bias). */
  readonly squaredNorms: ArrayLike<number>;
}

export interface SoftmaxRhoBound {
  /** max_t of the bound on ||I - eta_t H_t||: a certified upper bound on rho. */
  readonly value: number;
  /** The step attaining it. */
  readonly step: number;
  /** L_t at that step: the bound on the data term's curvature. */
  readonly curvature: number;
}

/**
 * The certified upper bound on rho for L2-regularised softmax regression over every step of a
 * run (pass them all: a bound over sampled steps bounds only those). It depends on the data's
 * norms and the step sizes, not on the weights, and is loose by the ratio of the true curvature
 * to the worst case; on logistic MNIST it exceeds 1 at the first steps, where rho^T then makes
 * the paper's bound vacuous.
 */
export function softmaxRegressionRhoBound(query: {
  /** The L2 regularisation lambda (the run's l2). */
  readonly lambda: number;
  readonly steps: readonly SoftmaxRhoStep[];
}): SoftmaxRhoBound {
  const where = 'softmaxRegressionRhoBound';
  const lambda = requireNonNegative(where, 'lambda', query.lambda);
  if (!Array.isArray(query.steps) || query.steps.length === 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: steps must list every step of the run (its eta and its batch's squared norms); got none.`,
    );
  }
  let best: SoftmaxRhoBound | undefined;
  query.steps.forEach((step, t) => {
    const eta = requirePositive(where, `steps[${t}].eta`, step.eta);
    const norms = step.squaredNorms;
    if (norms.length === 0) {
      throw new LetheError(
        'invalid-argument',
        `${where}: steps[${t}] has an empty batch; pass the squared norms of its samples.`,
      );
    }
    let sum = 0;
    for (let i = 0; i < norms.length; i++) {
      sum += requireNonNegative(where, `steps[${t}].squaredNorms[${i}]`, norms[i]!) + 1;
    }
    const curvature = (sum / (2 * norms.length)) * (1 + EVALUATION_HEADROOM);
    const value =
      Math.max(Math.abs(1 - eta * lambda), Math.abs(1 - eta * (lambda + curvature))) *
      (1 + EVALUATION_HEADROOM);
    if (best === undefined || value > best.value) best = { value, step: t, curvature };
  });
  return best!;
}
