// The audit's epsilon must be a lower bound (never above the mechanism's true epsilon, at the
// stated confidence) and must have power (well above 0 when the mechanism is far from private).
// Checked on the Gaussian mechanism, whose exact epsilon is known, and on closed forms of the
// Clopper-Pearson bounds.
import { analyticGaussianEpsilon } from '@lethe/certify';
import { Rng } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import { clopperPearson, empiricalEpsilon } from '../src/index.js';

/** P(Bin(n, p) >= k) by direct summation of the pmf, in float64. */
function binomialUpperTail(n: number, k: number, p: number): number {
  let logC = 0;
  let sum = 0;
  for (let j = 0; j <= n; j++) {
    if (j > 0) logC += Math.log(n - j + 1) - Math.log(j);
    if (j >= k) sum += Math.exp(logC + j * Math.log(p) + (n - j) * Math.log1p(-p));
  }
  return sum;
}

describe('clopperPearson', () => {
  it('matches the closed forms at 0 and n successes', () => {
    for (const n of [1, 7, 200]) {
      const alpha = 0.01;
      const none = clopperPearson(0, n, alpha);
      expect(none.lower).toBe(0);
      expect(none.upper).toBeCloseTo(1 - alpha ** (1 / n), 11);
      expect(none.upper).toBeGreaterThanOrEqual(1 - alpha ** (1 / n) - 1e-15);
      const all = clopperPearson(n, n, alpha);
      expect(all.upper).toBe(1);
      expect(all.lower).toBeCloseTo(alpha ** (1 / n), 11);
      expect(all.lower).toBeLessThanOrEqual(alpha ** (1 / n));
    }
  });

  it('solves the binomial tail equations (checked by direct summation)', () => {
    for (const [k, n] of [
      [3, 10],
      [50, 200],
      [199, 200],
      [1, 1000],
    ] as const) {
      const alpha = 0.025;
      const { lower, upper } = clopperPearson(k, n, alpha);
      expect(lower).toBeLessThan(k / n);
      expect(upper).toBeGreaterThan(k / n);
      expect(binomialUpperTail(n, k, lower)).toBeCloseTo(alpha, 9);
      expect(1 - binomialUpperTail(n, k + 1, upper)).toBeCloseTo(alpha, 9);
      // Conservative side of the crossing: the bound's own tail is at most alpha.
      expect(binomialUpperTail(n, k, lower)).toBeLessThanOrEqual(alpha * (1 + 1e-9));
    }
  });

  it('covers: the true p is below the lower bound in about alpha of experiments, not more', () => {
    const rng = new Rng(5);
    const p = 0.3;
    const n = 60;
    const alpha = 0.1;
    let misses = 0;
    const runs = 2000;
    for (let r = 0; r < runs; r++) {
      let k = 0;
      for (let i = 0; i < n; i++) if (rng.nextFloat() < p) k++;
      if (clopperPearson(k, n, alpha).lower > p) misses++;
    }
    // Exact bounds are conservative: the miss rate is at most alpha (plus sampling error).
    expect(misses / runs).toBeLessThan(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs));
  });

  it('refuses counts and levels outside their ranges', () => {
    expect(() => clopperPearson(5, 4, 0.05)).toThrow(
      /successes = 5; expected an integer in \[0, 4\]/,
    );
    expect(() => clopperPearson(1, 0, 0.05)).toThrow(/trials = 0/);
    expect(() => clopperPearson(1, 4, 1)).toThrow(/alpha = 1/);
  });
});

describe('empiricalEpsilon on the Gaussian mechanism', () => {
  // Outputs N(mu, 1) on one input and N(0, 1) on its neighbour: exactly the Gaussian mechanism
  // with sensitivity mu and sigma 1, whose epsilon at delta is known in closed form.
  const draws = (rng: Rng, n: number, mean: number) =>
    Float64Array.from({ length: n }, () => mean + rng.normal());

  it('never exceeds the true epsilon, and finds most of it with enough trials', () => {
    const delta = 1e-5;
    for (const mu of [0.5, 2, 4]) {
      const truth = analyticGaussianEpsilon({ sigma: 1, sensitivity: mu, delta });
      for (let seed = 1; seed <= 3; seed++) {
        const rng = new Rng(seed * 97 + mu * 10);
        const audit = empiricalEpsilon(draws(rng, 2000, mu), draws(rng, 2000, 0), { delta });
        expect(audit.epsilon).toBeLessThanOrEqual(truth);
        // With 2000 trials a side, no audit can show more than about log(2000 / 7) = 5.6
        // (zero false positives still leave FPR <= 7/2000 at this confidence): here it gets
        // 3.2 of the true 10.0 at mu = 2 and 4.9 of 24.4 at mu = 4.
        if (mu === 2) expect(audit.epsilon).toBeGreaterThan(0.2 * truth);
        if (mu === 4) expect(audit.epsilon).toBeGreaterThan(4);
      }
    }
  });

  it('shows nothing when both inputs give the same distribution', () => {
    const rng = new Rng(17);
    const audit = empiricalEpsilon(draws(rng, 500, 0), draws(rng, 500, 0), { delta: 1e-5 });
    expect(audit.epsilon).toBe(0);
    expect(audit.testsTried).toBe(2 * 64);
  });

  it('reports the test behind the bound, in either orientation', () => {
    const rng = new Rng(3);
    const low = empiricalEpsilon(draws(rng, 400, -3), draws(rng, 400, 0), { delta: 0 });
    expect(low.orientation).toBe('low');
    expect(low.epsilon).toBeGreaterThan(1);
    expect(low.tprLower).toBeLessThanOrEqual(low.tpr);
    expect(low.fprUpper).toBeGreaterThanOrEqual(low.fpr);
    expect(low.epsilon).toBeCloseTo(
      Math.max(
        Math.log((low.tprLower - 0) / low.fprUpper),
        Math.log((1 - low.fprUpper) / (1 - low.tprLower)),
      ),
      12,
    );
  });

  it('refuses empty, non-finite and out-of-range input, naming it', () => {
    expect(() => empiricalEpsilon([], [1], { delta: 0 })).toThrow(/0 positive and 1 negative/);
    expect(() => empiricalEpsilon([Number.NaN], [1], { delta: 0 })).toThrow(/positive/);
    expect(() => empiricalEpsilon([1], [2], { delta: 1 })).toThrow(/delta = 1/);
    expect(() => empiricalEpsilon([1], [2], { delta: 0, confidence: 1 })).toThrow(/confidence = 1/);
  });
});
