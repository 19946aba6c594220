import { LetheError } from '@lethe/core';
import { requireBinaryLabels, requireFinite, requireSameLength } from './validate.js';

/** A receiver operating characteristic: higher scores mean "member" (label 1). */
export interface Roc {
  /**
   * False- and true-positive rates of the rule "score >= thresholds[i]", one point per distinct
   * score in decreasing order, after a first point (0, 0) whose threshold is +Infinity (nothing
   * called a member). Tied scores move both rates at once: a diagonal segment.
   */
  readonly fpr: Float64Array;
  readonly tpr: Float64Array;
  readonly thresholds: Float64Array;
  /** Area under the curve (trapezoids) = the Mann-Whitney statistic P(s+ > s-) + P(s+ = s-)/2. */
  readonly auc: number;
  readonly positives: number;
  readonly negatives: number;
}

/** The ROC of scores against 0/1 membership labels. */
export function roc(scores: ArrayLike<number>, labels: ArrayLike<number>): Roc {
  const where = 'roc';
  requireSameLength(
    where,
    { name: 'scores', length: scores.length },
    { name: 'labels', length: labels.length },
  );
  requireFinite(where, 'scores', scores);
  const { positives, negatives } = requireBinaryLabels(where, 'labels', labels);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Number.POSITIVE_INFINITY];
  let tp = 0;
  let fp = 0;
  // Area in counts (tp x fp units), divided once at the end so that it is the exact pair count.
  let area = 0;
  for (let k = 0; k < n; ) {
    const s = scores[order[k]!]!;
    const tp0 = tp;
    const fp0 = fp;
    while (k < n && scores[order[k]!] === s) {
      if (labels[order[k]!] === 1) tp++;
      else fp++;
      k++;
    }
    area += ((fp - fp0) * (tp + tp0)) / 2;
    fpr.push(fp / negatives);
    tpr.push(tp / positives);
    thresholds.push(s);
  }
  return {
    fpr: Float64Array.from(fpr),
    tpr: Float64Array.from(tpr),
    thresholds: Float64Array.from(thresholds),
    auc: area / (positives * negatives),
    positives,
    negatives,
  };
}

/**
 * The largest true-positive rate among the ROC's operating points with false-positive rate at
 * most `fpr` (Carlini et al.'s low-FPR metric). No interpolation: with fewer than 1/fpr
 * negatives only the point (0, tpr) qualifies, which is the honest answer.
 */
export function tprAtFpr(curve: Roc, fpr: number): number {
  if (!(fpr >= 0 && fpr <= 1)) {
    throw new LetheError(
      'invalid-argument',
      `tprAtFpr: the target false-positive rate must be in [0, 1], got ${fpr}.`,
    );
  }
  let best = 0;
  for (let i = 0; i < curve.fpr.length; i++) {
    if (curve.fpr[i]! <= fpr && curve.tpr[i]! > best) best = curve.tpr[i]!;
  }
  return best;
}

/**
 * Standard deviation of the AUC of a chance-level attack (scores independent of membership, no
 * ties) with these class sizes: sqrt((P + N + 1) / (12 P N)), from the Mann-Whitney U
 * statistic's null variance. How far from 0.5 an AUC must be before it means something.
 */
export function aucNullStd(positives: number, negatives: number): number {
  for (const [name, v] of [
    ['positives', positives],
    ['negatives', negatives],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new LetheError(
        'invalid-argument',
        `aucNullStd: ${name} must be an integer >= 1, got ${v}.`,
      );
  }
  return Math.sqrt((positives + negatives + 1) / (12 * positives * negatives));
}

/** The numbers an attack is reported by. */
export interface AttackMetrics {
  readonly auc: number;
  /** TPR at 1% FPR. */
  readonly tprAt1pctFpr: number;
  /** TPR at 0.1% FPR. */
  readonly tprAt01pctFpr: number;
  readonly roc: Roc;
}

export function attackMetrics(scores: ArrayLike<number>, labels: ArrayLike<number>): AttackMetrics {
  const curve = roc(scores, labels);
  return {
    auc: curve.auc,
    tprAt1pctFpr: tprAtFpr(curve, 0.01),
    tprAt01pctFpr: tprAtFpr(curve, 0.001),
    roc: curve,
  };
}
