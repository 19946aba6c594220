// Calibration of the Gaussian mechanism from its exact privacy curve (Balle & Wang, ICML 2018):
//   delta(eps; sigma) = Phi(D/(2 sigma) - eps sigma/D) - e^eps Phi(-D/(2 sigma) - eps sigma/D).
// See docs/method.md#the-analytic-gaussian-mechanism.
import { LetheError } from '@lethe/core';
import { smallestDoubleWhere } from './float-search.js';
import { erfcxGap, erfNonNegative, log1mexp, logNormalCdf } from './normal.js';
import { requireNonNegative, requireOpenUnit, requirePositive } from './validate.js';

/**
 * Relative headroom kept below the target delta. The curve is evaluated to within 1e-12 relative
 * error (checked against 60-digit arithmetic in the tests); demanding delta(1 - 1e-11) makes the
 * returned sigma valid for the exact curve too, at a relative cost below 1e-11 in sigma.
 */
export const DELTA_HEADROOM = 1e-11;

/** log delta(eps; sigma) of the Gaussian mechanism at L2 sensitivity D. Inputs already checked. */
export function gaussianLogDelta(epsilon: number, sigma: number, sensitivity: number): number {
  if (sensitivity === 0) return Number.NEGATIVE_INFINITY;
  if (sigma === 0) return 0;
  const u = sensitivity / (2 * sigma);
  const v = (epsilon * sigma) / sensitivity;
  const a = u - v;
  const b = -u - v;
  if (a <= 0) {
    // b^2/2 = a^2/2 + eps exactly, so e^eps phi(b) = phi(a): both terms share exp(-a^2/2), which
    // is factored out and kept in log space; what is left is a difference of two erfcx values
    // whose arguments differ by (a - b)/sqrt(2) = sqrt(2) u, passed exactly rather than recomputed.
    const gap = erfcxGap(-a / Math.SQRT2, Math.SQRT2 * u);
    if (!(gap > 0)) return Number.NEGATIVE_INFINITY;
    return -(a * a) / 2 + Math.log(0.5 * gap);
  }
  // a > 0 > b: delta = P(b < Z < a) - (e^eps - 1) Phi(b), no term near 1 is subtracted.
  const mass = 0.5 * (erfNonNegative(a / Math.SQRT2) + erfNonNegative(-b / Math.SQRT2));
  const logExpm1Eps = epsilon + log1mexp(-epsilon);
  const delta = mass - Math.exp(logExpm1Eps + logNormalCdf(b));
  return delta > 0 ? Math.log(delta) : Number.NEGATIVE_INFINITY;
}

export interface SigmaQuery {
  epsilon: number;
  delta: number;
  /** Global L2 sensitivity of the released vector. */
  sensitivity: number;
}

export interface EpsilonQuery {
  sigma: number;
  delta: number;
  sensitivity: number;
}

/** delta(eps; sigma) of the Gaussian mechanism at the given sensitivity (exact curve). */
export function analyticGaussianDelta(query: {
  epsilon: number;
  sigma: number;
  sensitivity: number;
}): number {
  const where = 'analyticGaussianDelta';
  requireNonNegative(where, 'epsilon', query.epsilon);
  requirePositive(where, 'sigma', query.sigma);
  requireNonNegative(where, 'sensitivity', query.sensitivity);
  return Math.exp(gaussianLogDelta(query.epsilon, query.sigma, query.sensitivity));
}

function logTarget(delta: number): number {
  return Math.log(delta) + Math.log1p(-DELTA_HEADROOM);
}

/**
 * The smallest sigma (to the last double) for which adding N(0, sigma^2 I) to a vector of L2
 * sensitivity `sensitivity` is (epsilon, delta)-DP. Sensitivity 0 needs no noise: returns 0.
 */
export function analyticGaussianSigma(query: SigmaQuery): number {
  const where = 'analyticGaussianSigma';
  const epsilon = requirePositive(where, 'epsilon', query.epsilon);
  const delta = requireOpenUnit(where, 'delta', query.delta);
  const sensitivity = requireNonNegative(where, 'sensitivity', query.sensitivity);
  if (sensitivity === 0) return 0;
  const target = logTarget(delta);
  const enough = (sigma: number) => gaussianLogDelta(epsilon, sigma, sensitivity) <= target;

  // Start from the classic bound's scale and double or halve until the answer is bracketed.
  let guess = (sensitivity * Math.sqrt(2 * Math.log(1.25 / delta))) / epsilon;
  if (!(guess > 0 && Number.isFinite(guess))) guess = sensitivity;
  let lo = guess;
  let hi = guess;
  if (enough(guess)) {
    do {
      hi = lo;
      lo /= 2;
    } while (lo > 0 && enough(lo));
  } else {
    do {
      lo = hi;
      hi *= 2;
    } while (Number.isFinite(hi) && !enough(hi));
    if (!Number.isFinite(hi)) {
      throw new LetheError(
        'invalid-argument',
        `${where}: no finite sigma reaches delta = ${delta} at epsilon = ${epsilon}; raise epsilon or delta.`,
      );
    }
  }
  return smallestDoubleWhere(enough, lo, hi);
}

/**
 * The smallest epsilon (to the last double) for which N(0, sigma^2 I) at this sensitivity is
 * (epsilon, delta)-DP; 0 if even epsilon = 0 meets delta.
 */
export function analyticGaussianEpsilon(query: EpsilonQuery): number {
  const where = 'analyticGaussianEpsilon';
  const sigma = requirePositive(where, 'sigma', query.sigma);
  const delta = requireOpenUnit(where, 'delta', query.delta);
  const sensitivity = requireNonNegative(where, 'sensitivity', query.sensitivity);
  const target = logTarget(delta);
  const enough = (epsilon: number) => gaussianLogDelta(epsilon, sigma, sensitivity) <= target;
  if (enough(0)) return 0;
  let lo = 0;
  let hi = 1;
  while (!enough(hi)) {
    lo = hi;
    hi *= 2;
    if (!Number.isFinite(hi)) {
      throw new LetheError(
        'invalid-argument',
        `${where}: no finite epsilon reaches delta = ${delta} at sigma = ${sigma}; raise sigma or delta.`,
      );
    }
  }
  return smallestDoubleWhere(enough, lo, hi);
}

/**
 * The classic calibration sigma = sqrt(2 ln(1.25/delta)) D / epsilon (Dwork & Roth, Thm A.1),
 * proven only for epsilon < 1 and never smaller than the analytic sigma.
 */
export function classicGaussianSigma(query: SigmaQuery): number {
  const where = 'classicGaussianSigma';
  const epsilon = requirePositive(where, 'epsilon', query.epsilon);
  if (epsilon >= 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: epsilon = ${epsilon} is invalid; expected a number in (0, 1), the only range where the classic bound is proven. Use analyticGaussianSigma for epsilon >= 1.`,
    );
  }
  const delta = requireOpenUnit(where, 'delta', query.delta);
  const sensitivity = requireNonNegative(where, 'sensitivity', query.sensitivity);
  return (Math.sqrt(2 * Math.log(1.25 / delta)) * sensitivity) / epsilon;
}
