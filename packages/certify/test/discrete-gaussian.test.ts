import { isLetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import {
  bernoulliExpMinus,
  bernoulliRatio,
  DiscreteGaussianSampler,
  discreteGaussian,
  discreteLaplace,
  integerSqrt,
  RandomBits,
} from '../src/discrete-gaussian.js';
import {
  addGridGaussianNoise,
  calibrateGrid,
  discreteGaussianEpsilon,
} from '../src/grid-mechanism.js';
import { analyticGaussianSigma, seededNoiseSource } from '../src/index.js';

/** The exact pmf of N_Z(0, s2) on [-range, range] (the mass beyond is below 1e-30 here). */
function exactPmf(s2: number, range: number): Map<number, number> {
  const weights = new Map<number, number>();
  let total = 0;
  for (let x = -range; x <= range; x++) {
    const w = Math.exp(-(x * x) / (2 * s2));
    weights.set(x, w);
    total += w;
  }
  for (const [x, w] of weights) weights.set(x, w / total);
  return weights;
}

/** Pearson's chi-square of `samples` against `pmf`, cells with expected count >= 5 (rest pooled). */
function chiSquare(samples: number[], pmf: Map<number, number>): { stat: number; df: number } {
  const counts = new Map<number, number>();
  for (const x of samples) counts.set(x, (counts.get(x) ?? 0) + 1);
  let stat = 0;
  let cells = 0;
  let pooledExpected = 0;
  let pooledObserved = 0;
  for (const [x, p] of pmf) {
    const expected = p * samples.length;
    const observed = counts.get(x) ?? 0;
    if (expected < 5) {
      pooledExpected += expected;
      pooledObserved += observed;
      continue;
    }
    stat += (observed - expected) ** 2 / expected;
    cells++;
  }
  const outside = samples.filter((x) => !pmf.has(x)).length;
  pooledObserved += outside;
  if (pooledExpected > 0) {
    stat += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    cells++;
  }
  return { stat, df: cells - 1 };
}

/** chi-square upper quantile approximation (Wilson-Hilferty) at z = 4 (p ~ 3e-5). */
function chiSquareLimit(df: number): number {
  const z = 4;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

describe('exact discrete Gaussian sampling (CKS 2020)', () => {
  it('integerSqrt is the exact floor, also beyond 2^53', () => {
    for (let n = 0n; n < 2000n; n++) {
      const r = integerSqrt(n);
      expect(r * r <= n && (r + 1n) * (r + 1n) > n).toBe(true);
    }
    const big = (1n << 80n) + 12345n;
    const r = integerSqrt(big);
    expect(r * r <= big && (r + 1n) * (r + 1n) > big).toBe(true);
  });

  it('refuses a noise source whose uniforms are not 53-bit multiples', () => {
    for (const u of [2 ** -54, 1, -0.5, Number.NaN]) {
      const bits = new RandomBits({ kind: 'seeded', algorithm: 'bad', nextUniform: () => u });
      const err = thrown(() => bits.take(8));
      expect(isLetheError(err, 'invalid-argument')).toBe(true);
      expect(err.message).toMatch(/noise source bad returned .*not a multiple of 2\^-53/);
    }
  });

  it('Bernoulli(num / den) has the right frequency on numbers and on BigInt (den beyond 2^40)', () => {
    const bits = new RandomBits(seededNoiseSource(3));
    const trials = 40_000;
    const big = 1n << 70n;
    for (const [num, den] of [
      [1n, 3n],
      [2n, 3n],
      [3n, 3n],
      [0n, 7n],
      [big / 3n, big],
      [(big * 9n) / 10n, big + 1n],
    ] as const) {
      let hits = 0;
      for (let i = 0; i < trials; i++) if (bits.bernoulli(num, den)) hits++;
      const p = Number(num) / Number(den);
      expect(Math.abs(hits / trials - p)).toBeLessThanOrEqual(
        5 * Math.sqrt((p * (1 - p)) / trials),
      );
    }
  });

  it('uniform integers below n are uniform, on numbers and on BigInt', () => {
    const bits = new RandomBits(seededNoiseSource(4));
    for (const n of [5n, 1n << 50n, (1n << 60n) + 3n]) {
      // Sorted into 5 equal fifths of [0, n).
      const counts = [0, 0, 0, 0, 0];
      for (let i = 0; i < 20_000; i++) counts[Number((bits.below(n) * 5n) / n)]!++;
      const stat = counts.reduce((a, c) => a + (c - 4000) ** 2 / 4000, 0);
      expect(stat).toBeLessThan(chiSquareLimit(4));
    }
  });

  it('Bernoulli(exp(-x)) has the right frequency, below and above x = 1, also beyond 2^40', () => {
    const bits = new RandomBits(seededNoiseSource(1));
    const trials = 40_000;
    const big = 1n << 60n;
    for (const [num, den] of [
      [3n, 10n],
      [17n, 10n],
      [(big * 3n) / 10n, big],
      [(big * 17n) / 10n, big],
    ] as const) {
      let hits = 0;
      for (let i = 0; i < trials; i++) if (bernoulliExpMinus(bits, num, den)) hits++;
      const p = Math.exp(-Number(num) / Number(den));
      // 5 binomial standard deviations
      expect(Math.abs(hits / trials - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / trials));
    }
  });

  it('Bernoulli(r / (b k)) by 52 bits and a float estimate decides as the exact bit-by-bit test, also at the boundary', () => {
    // The same stream of uniforms through both: the first 52 bits are U's, in the same order.
    const stream = (first: number[], seed: number) => {
      const rest = seededNoiseSource(seed);
      let i = 0;
      return {
        kind: 'seeded' as const,
        algorithm: 'scripted',
        nextUniform: () => (i < first.length ? first[i++]! : rest.nextUniform()),
      };
    };
    const random = new RandomBits(seededNoiseSource(11));
    let fallbacks = 0;
    let decided = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const size = [8, 40, 60, 100, 300][trial % 5]!;
      const b = random.take(size) + 1n;
      const r = trial % 7 === 0 ? b : random.below(b + 1n);
      const k = 1 + (trial % 4);
      const bk = b * BigInt(k);
      // U's first 52 bits: random, or right at floor(p 2^52) and its neighbours.
      const edge = (r * 2n ** 52n) / bk;
      const choices = [random.take(52), edge - 1n, edge, edge + 1n];
      for (const u52 of choices) {
        if (u52 < 0n || u52 >= 2n ** 52n) continue;
        const u = Number(u52 * 2n + random.take(1)) / 2 ** 53;
        const fast = new RandomBits(stream([u], trial));
        const exact = new RandomBits(stream([u], trial));
        const got = bernoulliRatio(fast, r, Number(r), b, Number(b), k);
        expect(got).toBe(exact.bernoulli(r, bk));
        decided++;
        if (u52 === edge) fallbacks++;
      }
    }
    expect(decided).toBeGreaterThan(10_000);
    expect(fallbacks).toBeGreaterThan(2000);
    // Beyond float range the estimate is not used.
    const huge = 1n << 1100n;
    for (const u of [0.25, 0.75]) {
      const got = bernoulliRatio(
        new RandomBits(stream([u], 1)),
        huge / 2n,
        Infinity,
        huge,
        Infinity,
        1,
      );
      expect(got).toBe(u < 0.5);
    }
  });

  it('the discrete Laplace matches its pmf', () => {
    const bits = new RandomBits(seededNoiseSource(2));
    const t = 3n;
    const samples = Array.from({ length: 30_000 }, () => Number(discreteLaplace(bits, t)));
    const pmf = new Map<number, number>();
    const norm = (1 - Math.exp(-1 / 3)) / (1 + Math.exp(-1 / 3));
    for (let x = -80; x <= 80; x++) pmf.set(x, norm * Math.exp(-Math.abs(x) / 3));
    const { stat, df } = chiSquare(samples, pmf);
    expect(stat).toBeLessThan(chiSquareLimit(df));
  });

  it('matches the exact pmf for integer and fractional variances (chi-square at p ~ 3e-5)', () => {
    for (const [num, den, seed] of [
      [4n, 1n, 3],
      [9n, 4n, 4],
      [1n, 10n, 5],
    ] as const) {
      const bits = new RandomBits(seededNoiseSource(seed));
      const samples = Array.from({ length: 30_000 }, () =>
        Number(discreteGaussian(bits, num, den)),
      );
      const { stat, df } = chiSquare(samples, exactPmf(Number(num) / Number(den), 60));
      expect(stat).toBeLessThan(chiSquareLimit(df));
    }
  });

  it('matches the exact pmf at a grid release variance (s^2 a multiple of 2^-32: rationals near 2^100)', () => {
    const sScaled = 242_483; // s = 3.7 on the 2^-16 grid
    const sampler = new DiscreteGaussianSampler(BigInt(sScaled) ** 2n, 2n ** 32n);
    const bits = new RandomBits(seededNoiseSource(8));
    const samples = Array.from({ length: 30_000 }, () => sampler.nextNumber(bits));
    const { stat, df } = chiSquare(samples, exactPmf((sScaled / 2 ** 16) ** 2, 60));
    expect(stat).toBeLessThan(chiSquareLimit(df));
    expect(() => new DiscreteGaussianSampler(0n, 1n)).toThrow(/must be a positive fraction/);
  });

  it('a wide one (s = 1000) has mean 0 and standard deviation s', () => {
    const bits = new RandomBits(seededNoiseSource(6));
    const n = 20_000;
    const xs = Array.from({ length: n }, () => Number(discreteGaussian(bits, 1_000_000n, 1n)));
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    expect(Math.abs(mean)).toBeLessThan((5 * 1000) / Math.sqrt(n));
    expect(Math.abs(sd / 1000 - 1)).toBeLessThan(5 / Math.sqrt(2 * n));
  });
});

describe('grid release: snapped weights plus discrete Gaussian noise', () => {
  const weights = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i) * 0.8);

  it('calibrates sigma for the snapped sensitivity through zCDP, a few percent above the analytic sigma', () => {
    for (const epsilon of [0.1, 1, 10]) {
      const c = calibrateGrid({ epsilon, delta: 1e-5, sensitivity: 0.05, weights });
      expect(Number.isInteger(Math.log2(c.gamma))).toBe(true);
      expect(c.sensitivity).toBe(0.05 + c.gamma * Math.sqrt(weights.length));
      expect(discreteGaussianEpsilon(c.sigma, c.sensitivity, 1e-5)).toBeLessThanOrEqual(epsilon);
      expect(c.sigma).toBeGreaterThanOrEqual(
        analyticGaussianSigma({ epsilon, delta: 1e-5, sensitivity: c.sensitivity }),
      );
      expect(c.loss).toBeGreaterThan(1);
      expect(c.loss).toBeLessThan(1.3);
      expect(c.weightBound).toEqual({ value: 1, provenance: 'observed' });
    }
  });

  it('publishes multiples of gamma exactly in float32, noise of the calibrated scale', () => {
    const c = calibrateGrid({
      epsilon: 1,
      delta: 1e-5,
      sensitivity: 0.05,
      weights,
      weightBound: 1,
    });
    expect(c.weightBound).toEqual({ value: 1, provenance: 'declared' });
    const out = addGridGaussianNoise(weights, c, seededNoiseSource(7));
    const z: number[] = [];
    out.forEach((v, i) => {
      const steps = v / c.gamma;
      expect(Number.isInteger(steps)).toBe(true);
      z.push((steps - Math.round(weights[i]! / c.gamma)) * (c.gamma / c.sigma));
    });
    const mean = z.reduce((a, b) => a + b, 0) / z.length;
    const sd = Math.sqrt(z.reduce((a, b) => a + (b - mean) ** 2, 0) / (z.length - 1));
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(z.length));
    expect(Math.abs(sd - 1)).toBeLessThan(5 / Math.sqrt(2 * z.length));
  });

  it('refuses weights above a declared bound, and a sigma off its grid', () => {
    expect(() =>
      calibrateGrid({ epsilon: 1, delta: 1e-5, sensitivity: 0.05, weights, weightBound: 0.5 }),
    ).toThrow(/exceeds the declared weightBound 0.5/);
    expect(() =>
      addGridGaussianNoise(weights, { sigma: 0.1, gamma: 2 ** -4 }, seededNoiseSource(1)),
    ).toThrow(/not a positive multiple of 2\^-16/);
    for (const gamma of [3, 0.1, 2 ** -150, 2 ** 105, Number.NaN]) {
      expect(() =>
        addGridGaussianNoise(weights, { sigma: gamma, gamma }, seededNoiseSource(1)),
      ).toThrow(/is not a power of two in \[2\^-149, 2\^104\]/);
    }
  });

  it('refuses a grid float32 cannot hold exactly, naming a grid that fits', () => {
    // 2^24 steps of 2^-20 is 16: a weight of 20 on that grid is beyond float32's exact integers.
    const err = thrown(() =>
      addGridGaussianNoise(
        Float32Array.of(20),
        { sigma: 2 ** -20, gamma: 2 ** -20 },
        seededNoiseSource(1),
      ),
    );
    expect(isLetheError(err, 'invalid-argument')).toBe(true);
    expect(err.message).toMatch(
      /beyond 2\^24, where float32 is not exact; use a grid of at least 0\.000003814697265625 /,
    );
    // The grid it names holds the value: 20 / 2^-18 < 2^23.
    expect(20 / 2 ** -18).toBeLessThan(2 ** 23);
  });

  it('refuses, without looping, parameters for which no noise fits float32 or no sigma exists', () => {
    // Before: sensitivity 0, a sensitivity whose square overflows a double, and epsilon <= 0 or
    // NaN each searched for sigma forever.
    const base = { epsilon: 1, delta: 1e-5, weights };
    for (const sensitivity of [1e38, 1e53, 1e154, 1e200, Number.MAX_VALUE]) {
      const err = thrown(() => calibrateGrid({ ...base, sensitivity }));
      expect(isLetheError(err, 'non-finite')).toBe(true);
      expect(err.message).toContain(
        `sensitivity ${sensitivity} at (epsilon, delta) = (1, 0.00001) needs noise`,
      );
      expect(err.message).toMatch(/which overflows float32\. No model's weights survive/);
      // Beyond ~1.3e154 the bound squared overflows a double, so no finite sigma exists.
      if (Number.isFinite(sensitivity ** 2)) expect(err.message).toMatch(/above 2\^104/);
      else expect(err.message).toMatch(/a sigma beyond the largest double/);
    }
    // A tiny epsilon asks for noise beyond float32 too (the zCDP conversion needs rho -> 0).
    expect(() => calibrateGrid({ ...base, epsilon: 1e-300, sensitivity: 1 })).toThrow(
      /overflows float32/,
    );
    for (const [field, value] of [
      ['sensitivity', 0],
      ['sensitivity', -1],
      ['sensitivity', Number.POSITIVE_INFINITY],
      ['epsilon', -1],
      ['epsilon', Number.NaN],
      ['delta', 0],
      ['delta', 1],
    ] as const) {
      const err = thrown(() => calibrateGrid({ ...base, sensitivity: 1, [field]: value }));
      expect(isLetheError(err, 'invalid-argument')).toBe(true);
      expect(err.message).toMatch(new RegExp(`calibrateGrid: ${field} = ${value} is invalid`));
    }
    // The coarsest grid float32 carries: 2^104, with values up to (2^24 - 1) 2^104, finite.
    expect(Math.fround((2 ** 24 - 1) * 2 ** 104)).toBe((2 ** 24 - 1) * 2 ** 104);
    expect(Math.fround(2 ** 24 * 2 ** 104)).toBe(Number.POSITIVE_INFINITY);
  });
});
