import { LetheError } from '@lethe/core';

// Divided differences of the power function f(x) = x^n (n real, x > 0), stable when the points
// coincide or nearly do. The paper's sensitivity bound is built from them: its quotients such as
// (rho^T - q^T)/(rho - q) are first divided differences, and its bracket is a second one, so
// every removable singularity (rho = q, rho = q^2, q = 1) becomes an ordinary evaluation.

/** log |e^x - 1| for x != 0, without overflow for large x. */
function logAbsExpm1(x: number): number {
  return x > 0 ? x + Math.log(-Math.expm1(-x)) : Math.log(-Math.expm1(x));
}

/** (x^n - y^n) / (x - y), or n x^(n-1) when x = y; x, y >= 0, n > 0. */
export function powerDividedDifference(x: number, y: number, n: number): number {
  const hi = Math.max(x, y);
  const lo = Math.min(x, y);
  if (hi === 0) return n === 1 ? 1 : 0;
  if (hi === lo) return n * hi ** (n - 1);
  // With s = lo/hi in [0, 1): hi^(n-1) (1 - s^n)/(1 - s); expm1 of the logs keeps both factors
  // accurate as s -> 1, and staying in log space avoids 0 * Infinity for extreme n.
  const logS = Math.log1p((lo - hi) / hi);
  const logRatio = lo === 0 ? 0 : logAbsExpm1(n * logS) - logAbsExpm1(logS);
  return Math.exp((n - 1) * Math.log(hi) + logRatio);
}

// Below this spread (in units of n log(max/min)) the series is used: the subtraction of two
// first divided differences would cancel about -log10(spread) digits.
const SERIES_SPREAD = 0.05;
const SERIES_TERMS = 200;

/**
 * Second divided difference f[a, b, c] of f(x) = x^n at positive points, any of which may
 * coincide; equals f''(xi)/2 for some xi between them.
 */
export function powerSecondDividedDifference(a: number, b: number, c: number, n: number): number {
  const [lo, mid, hi] = [a, b, c].sort((p, q) => p - q) as [number, number, number];
  if (lo <= 0) {
    if (lo === 0 && mid > 0) {
      return (powerDividedDifference(hi, mid, n) - powerDividedDifference(mid, 0, n)) / hi;
    }
    throw new LetheError(
      'invalid-argument',
      `powerSecondDividedDifference: points must be > 0, got ${a}, ${b}, ${c}.`,
    );
  }
  const spread = Math.max(1, Math.abs(n)) * Math.log(hi / lo);
  if (spread > SERIES_SPREAD) {
    // The outer points are far enough apart that this quotient loses < 2 digits.
    return (powerDividedDifference(hi, mid, n) - powerDividedDifference(mid, lo, n)) / (hi - lo);
  }
  // Taylor series about the middle point: x^n = sum_k binom(n,k) mid^(n-k) (x - mid)^k, and the
  // second divided difference of (x - mid)^k is the complete homogeneous symmetric polynomial
  // h_(k-2) of the offsets. Terms shrink at least like spread^k / k!.
  const d0 = lo - mid;
  const d2 = hi - mid; // the middle offset is 0, so h_j(d0, 0, d2) = sum_i d0^i d2^(j-i)
  const reach = Math.max(Math.abs(d0), Math.abs(d2));
  let coef = ((n * (n - 1)) / 2) * mid ** (n - 2);
  let pow0 = 1; // d0^j
  let h = 1; // h_j(d0, d2)
  let reachPow = 1; // reach^j; |h_j| <= (j + 1) reach^j bounds every later term
  let sum = coef;
  for (let k = 3; k < SERIES_TERMS; k++) {
    coef *= (n - (k - 1)) / (k * mid);
    pow0 *= d0;
    h = pow0 + d2 * h;
    reachPow *= reach;
    sum += coef * h;
    // Stop on the bound, not on the term: h_j can vanish for one j (e.g. d0 = -d2, j odd).
    if (Math.abs(coef) * (k - 1) * reachPow <= 1e-17 * Math.abs(sum)) break;
  }
  return sum;
}
