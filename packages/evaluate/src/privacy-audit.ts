// An empirical lower bound on epsilon, as privacy auditing does (Jagielski et al. 2020, Nasr et
// al. 2021): run the mechanism many times on each of two neighbouring inputs, score each output
// with an attack, and turn the attack's true- and false-positive rates at a threshold into the
// smallest epsilon that (epsilon, delta)-DP allows, using Clopper-Pearson bounds so that the
// epsilon is a lower bound with the stated confidence. See docs/method.md#privacy-audit.
import { LetheError } from '@lethe/core';
import { requireFinite } from './validate.js';

/**
 * log C(n, k) for k = 0..n, summed from logs of integers: exact to a few ulps for any n a
 * test uses, with no log-gamma approximation to trust.
 */
function logBinomials(n: number): Float64Array {
  const logFactorial = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) logFactorial[i] = logFactorial[i - 1]! + Math.log(i);
  const out = new Float64Array(n + 1);
  for (let k = 0; k <= n; k++) out[k] = logFactorial[n]! - logFactorial[k]! - logFactorial[n - k]!;
  return out;
}

/** P(Bin(n, p) >= k), summed in log space from the largest term. */
function upperTail(logC: Float64Array, n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const lp = Math.log(p);
  const lq = Math.log1p(-p);
  let max = Number.NEGATIVE_INFINITY;
  const terms = new Float64Array(n - k + 1);
  for (let j = k; j <= n; j++) {
    const t = logC[j]! + j * lp + (n - j) * lq;
    terms[j - k] = t;
    if (t > max) max = t;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return Math.min(1, Math.exp(max) * sum);
}

/**
 * The p in [0, 1] where the increasing function f crosses `target`, by 100 bisections (to
 * 2^-100 absolute, far below what any count of trials resolves).
 */
function bisect(f: (p: number) => number, target: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (mid === lo || mid === hi) break;
    if (f(mid) < target) lo = mid;
    else hi = mid;
  }
  return lo;
}

export interface BinomialBounds {
  /** One-sided lower bound: P(p < lower) <= alpha over repetitions of the experiment. */
  readonly lower: number;
  /** One-sided upper bound: P(p > upper) <= alpha. */
  readonly upper: number;
}

/**
 * Exact (Clopper-Pearson) one-sided bounds at level alpha for a success probability from
 * `successes` of `trials`: lower solves P(Bin(n, p) >= k) = alpha, upper solves
 * P(Bin(n, p) <= k) = alpha. Each bound alone holds with probability >= 1 - alpha.
 */
export function clopperPearson(successes: number, trials: number, alpha: number): BinomialBounds {
  const where = 'clopperPearson';
  if (!Number.isInteger(trials) || trials < 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: trials = ${trials}; expected an integer >= 1.`,
    );
  }
  if (!Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new LetheError(
      'invalid-argument',
      `${where}: successes = ${successes}; expected an integer in [0, ${trials}].`,
    );
  }
  if (!(alpha > 0 && alpha < 1)) {
    throw new LetheError('invalid-argument', `${where}: alpha = ${alpha}; expected 0 < alpha < 1.`);
  }
  const logC = logBinomials(trials);
  const k = successes;
  // Closed forms at the ends; elsewhere a bisection on a tail summed to ~1e-15, widened by
  // BOUND_SLACK so that rounding never moves a bound to the wrong side of the exact one.
  if (k === 0)
    return { lower: 0, upper: Math.min(1, (1 - alpha ** (1 / trials)) * (1 + BOUND_SLACK)) };
  if (k === trials) return { lower: alpha ** (1 / trials) * (1 - BOUND_SLACK), upper: 1 };
  const lower = bisect((p) => upperTail(logC, trials, k, p), alpha) * (1 - BOUND_SLACK);
  // P(Bin <= k) = 1 - P(Bin >= k + 1) falls to alpha where P(Bin >= k + 1) rises to 1 - alpha.
  const upper = bisect((p) => upperTail(logC, trials, k + 1, p), 1 - alpha);
  return { lower, upper: Math.min(1, upper * (1 + BOUND_SLACK) + 2 ** -100) };
}

const BOUND_SLACK = 1e-12;

export interface EmpiricalEpsilonOptions {
  /** The delta of the guarantee being audited. */
  readonly delta: number;
  /** Probability that the returned epsilon is a true lower bound (default 0.95). */
  readonly confidence?: number;
  /**
   * Thresholds tried (default 64), at evenly spaced quantiles of the pooled scores. The
   * confidence is split over every test tried, so more thresholds cost power as well as time.
   */
  readonly thresholds?: number;
}

export interface EmpiricalEpsilon {
  /** The largest epsilon the attack shows, with the stated confidence; 0 when it shows none. */
  readonly epsilon: number;
  /** The threshold and orientation of the test that shows it ('high': score >= threshold). */
  readonly threshold: number;
  readonly orientation: 'high' | 'low';
  /** Observed rates of that test, and their Clopper-Pearson bounds used. */
  readonly tpr: number;
  readonly fpr: number;
  readonly tprLower: number;
  readonly fprUpper: number;
  readonly positiveTrials: number;
  readonly negativeTrials: number;
  readonly confidence: number;
  readonly delta: number;
  /** Tests tried (thresholds x orientations): the confidence is split over all of them. */
  readonly testsTried: number;
}

/**
 * The empirical epsilon of a mechanism from attack scores on its outputs: `positive` from runs
 * on one input (for unlearning: releases of the unlearned model), `negative` from runs on its
 * neighbour (releases of the retrained model). For each threshold (quantiles of the pooled
 * scores, chosen without looking at which side a score came from) and both orientations, with
 * Clopper-Pearson bounds at level (1 - confidence) / (2 x tests) (Bonferroni over the tests and
 * the two rates), (epsilon, delta)-DP requires TPR <= e^eps FPR + delta and
 * 1 - FPR <= e^eps (1 - TPR) + delta; the largest epsilon these force is returned.
 */
export function empiricalEpsilon(
  positive: ArrayLike<number>,
  negative: ArrayLike<number>,
  options: EmpiricalEpsilonOptions,
): EmpiricalEpsilon {
  const where = 'empiricalEpsilon';
  if (positive.length === 0 || negative.length === 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: got ${positive.length} positive and ${negative.length} negative scores; run the mechanism at least once on each input (hundreds of times for a useful bound).`,
    );
  }
  requireFinite(where, 'positive', positive);
  requireFinite(where, 'negative', negative);
  const delta = options.delta;
  if (!(delta >= 0 && delta < 1)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: delta = ${delta}; expected 0 <= delta < 1.`,
    );
  }
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: confidence = ${confidence}; expected 0 < confidence < 1.`,
    );
  }
  const maxThresholds = options.thresholds ?? 64;
  if (!Number.isInteger(maxThresholds) || maxThresholds < 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: thresholds = ${maxThresholds}; expected an integer >= 1.`,
    );
  }
  const thresholds = quantileThresholds(positive, negative, maxThresholds);
  const tests = 2 * thresholds.length;
  const alpha = (1 - confidence) / (2 * tests);
  const nPos = positive.length;
  const nNeg = negative.length;
  const pos = Float64Array.from(positive).sort();
  const neg = Float64Array.from(negative).sort();
  // Bounds depend only on counts: cache them per count.
  const posBounds = new Map<number, BinomialBounds>();
  const negBounds = new Map<number, BinomialBounds>();
  const bound = (cache: Map<number, BinomialBounds>, k: number, n: number) => {
    let b = cache.get(k);
    if (b === undefined) {
      b = clopperPearson(k, n, alpha);
      cache.set(k, b);
    }
    return b;
  };
  let best: EmpiricalEpsilon = {
    epsilon: 0,
    threshold: Number.POSITIVE_INFINITY,
    orientation: 'high',
    tpr: 0,
    fpr: 0,
    tprLower: 0,
    fprUpper: 1,
    positiveTrials: nPos,
    negativeTrials: nNeg,
    confidence,
    delta,
    testsTried: tests,
  };
  for (const t of thresholds) {
    const posAtLeast = nPos - lowerBoundIndex(pos, t);
    const negAtLeast = nNeg - lowerBoundIndex(neg, t);
    // 'high' calls score >= t positive; 'low' calls score < t positive.
    for (const orientation of ['high', 'low'] as const) {
      const tp = orientation === 'high' ? posAtLeast : nPos - posAtLeast;
      const fp = orientation === 'high' ? negAtLeast : nNeg - negAtLeast;
      const tprLower = bound(posBounds, tp, nPos).lower;
      const fprUpper = bound(negBounds, fp, nNeg).upper;
      const epsilon = Math.max(
        0,
        Math.log((tprLower - delta) / fprUpper),
        Math.log((1 - fprUpper - delta) / (1 - tprLower)),
      );
      if (Number.isFinite(epsilon) && epsilon > best.epsilon) {
        best = {
          ...best,
          epsilon,
          threshold: t,
          orientation,
          tpr: tp / nPos,
          fpr: fp / nNeg,
          tprLower,
          fprUpper,
        };
      }
    }
  }
  return best;
}

/** Up to `count` distinct scores at evenly spaced quantiles of both samples pooled. */
function quantileThresholds(
  positive: ArrayLike<number>,
  negative: ArrayLike<number>,
  count: number,
): number[] {
  const pooled = Float64Array.from([...Array.from(positive), ...Array.from(negative)]).sort();
  const picked = new Set<number>();
  for (let i = 0; i < count; i++) {
    const at = Math.floor(((i + 0.5) / count) * pooled.length);
    picked.add(pooled[Math.min(at, pooled.length - 1)]!);
  }
  return [...picked].sort((a, b) => a - b);
}

/** The first index i with sorted[i] >= value. */
function lowerBoundIndex(sorted: Float64Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
