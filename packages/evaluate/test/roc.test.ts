import { Rng } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import { attackMetrics, aucNullStd, roc, tprAtFpr } from '../src/index.js';

/** P(s+ > s-) + P(s+ = s-) / 2 over all pairs. */
function pairwiseAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  scores.forEach((sp, i) => {
    if (labels[i] !== 1) return;
    scores.forEach((sn, j) => {
      if (labels[j] !== 0) return;
      pairs++;
      wins += sp > sn ? 1 : sp === sn ? 0.5 : 0;
    });
  });
  return wins / pairs;
}

describe('roc', () => {
  it('hand-made curve: points, thresholds and area', () => {
    const r = roc([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0]);
    expect(Array.from(r.thresholds)).toEqual([Number.POSITIVE_INFINITY, 0.9, 0.8, 0.7, 0.6]);
    expect(Array.from(r.tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(Array.from(r.fpr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(r.auc).toBe(0.75);
    expect([r.positives, r.negatives]).toEqual([2, 2]);
  });

  it('perfect, inverted and all-tied scores give 1, 0 and 0.5', () => {
    expect(roc([3, 2, 1, 0], [1, 1, 0, 0]).auc).toBe(1);
    expect(roc([3, 2, 1, 0], [0, 0, 1, 1]).auc).toBe(0);
    const tied = roc([5, 5, 5, 5, 5], [1, 0, 0, 1, 0]);
    expect(tied.auc).toBe(0.5);
    // One diagonal step from (0, 0) to (1, 1), not a staircase that depends on input order.
    expect(Array.from(tied.fpr)).toEqual([0, 1]);
    expect(Array.from(tied.tpr)).toEqual([0, 1]);
  });

  it('a tie across classes counts one half, whatever the input order', () => {
    expect(roc([1, 1, 0], [1, 0, 0]).auc).toBe(0.75);
    expect(roc([1, 1, 0], [0, 1, 0]).auc).toBe(0.75);
  });

  it('equals the brute-force pairwise statistic on random scores with many ties', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 20 + rng.nextInt(200);
      const labels = Array.from({ length: n }, () => rng.nextInt(2));
      labels[0] = 0;
      labels[1] = 1;
      // Scores on a coarse grid (many ties), shifted for positives so the AUC is not 0.5.
      const scores = labels.map((y) => rng.nextInt(6) + y * rng.nextInt(3) - 0.5 * rng.nextInt(2));
      const r = roc(scores, labels);
      expect(r.auc).toBeCloseTo(pairwiseAuc(scores, labels), 14);
      // Monotone, from (0, 0) to (1, 1).
      for (let i = 1; i < r.fpr.length; i++) {
        expect(r.fpr[i]).toBeGreaterThanOrEqual(r.fpr[i - 1]!);
        expect(r.tpr[i]).toBeGreaterThanOrEqual(r.tpr[i - 1]!);
        expect(r.thresholds[i]).toBeLessThan(r.thresholds[i - 1]!);
      }
      expect([r.fpr.at(-1), r.tpr.at(-1)]).toEqual([1, 1]);
    }
  });

  it('refuses mismatched lengths, NaN scores, labels other than 0/1 and a single class', () => {
    expect(() => roc([1, 2], [1])).toThrow(/scores has 2 entries but labels has 1/);
    expect(() => roc([1, Number.NaN], [1, 0])).toThrow(/scores\[1\] is NaN/);
    expect(() => roc([1, 2], [1, 2])).toThrow(/labels\[1\] is 2; labels must be 1 \(member\) or 0/);
    expect(() => roc([1, 2], [true, false] as unknown as number[])).toThrow(/labels\[0\] is true/);
    expect(() => roc([1, 2], [1, 1])).toThrow(
      /only members \(1\).*include samples of the other class/,
    );
    expect(() => roc([1, 2], [0, 0])).toThrow(/only non-members \(0\)/);
  });
});

describe('tprAtFpr', () => {
  it('takes the largest TPR among points with FPR <= target, without interpolation', () => {
    // 100 negatives at scores 0..99, positives at 99.5 (1), 98.5 (1), 50.5 (2).
    const scores = [...Array.from({ length: 100 }, (_, i) => i), 99.5, 98.5, 50.5, 50.5];
    const labels = [...Array(100).fill(0), 1, 1, 1, 1];
    const r = roc(scores, labels);
    expect(tprAtFpr(r, 0)).toBe(0.25); // 99.5 beats every negative
    expect(tprAtFpr(r, 0.01)).toBe(0.5); // one false positive (99) allowed
    expect(tprAtFpr(r, 0.001)).toBe(0.25);
    expect(tprAtFpr(r, 0.5)).toBe(1); // 50.5 and above: negatives 51..99 = 49%
    expect(tprAtFpr(r, 0.48)).toBe(0.5);
    expect(() => tprAtFpr(r, 1.5)).toThrow(/\[0, 1\]/);
    const m = attackMetrics(scores, labels);
    expect([m.auc, m.tprAt1pctFpr, m.tprAt01pctFpr]).toEqual([r.auc, 0.5, 0.25]);
  });
});

describe('aucNullStd', () => {
  it('matches the exact null distribution of tiny cases and a simulation', () => {
    // One positive, one negative: AUC 0 or 1 with probability 1/2.
    expect(aucNullStd(1, 1)).toBeCloseTo(0.5, 15);
    // Two positives, one negative: AUC 0, 1/2, 1 with probability 1/3 each, variance 1/6.
    expect(aucNullStd(2, 1)).toBeCloseTo(Math.sqrt(1 / 6), 15);
    const rng = new Rng(3);
    const labels = Array.from({ length: 60 }, (_, i) => (i < 20 ? 1 : 0));
    const aucs = Array.from(
      { length: 4000 },
      () =>
        roc(
          labels.map(() => rng.normal()),
          labels,
        ).auc,
    );
    const mean = aucs.reduce((a, b) => a + b, 0) / aucs.length;
    const sd = Math.sqrt(aucs.reduce((a, b) => a + (b - mean) ** 2, 0) / (aucs.length - 1));
    // 4000 draws estimate the standard deviation to about 1.1%.
    expect(sd / aucNullStd(20, 40)).toBeGreaterThan(0.95);
    expect(sd / aucNullStd(20, 40)).toBeLessThan(1.05);
    expect(() => aucNullStd(0, 3)).toThrow(/positives must be an integer >= 1, got 0/);
  });
});
