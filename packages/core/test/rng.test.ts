import { describe, expect, it } from 'vitest';
import { deriveSeed, LetheError, Rng } from '../src/index.js';

describe('Rng', () => {
  it('gives the same stream for the same seed and a different one for another seed', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 20 }, () => a.nextFloat());
    expect(Array.from({ length: 20 }, () => b.nextFloat())).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.nextFloat())).not.toEqual(xs);
  });

  it('draws uniforms in [0, 1) with the right mean and variance', () => {
    const rng = new Rng(7);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.nextFloat();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
      sumSq += u * u;
    }
    const mean = sum / n;
    // Standard error of the mean is sqrt(1/12 / n) = 9.1e-4: 5 of them.
    expect(Math.abs(mean - 0.5)).toBeLessThan(4.6e-3);
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(3e-3);
  });

  it('draws standard normals (mean 0, variance 1, symmetric tails)', () => {
    const rng = new Rng(3);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    let beyond2 = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
      if (Math.abs(z) > 2) beyond2++;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.016);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.03);
    // P(|Z| > 2) = 0.0455; binomial standard error 6.6e-4.
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(3.5e-3);
  });

  it('draws integers in the closed range, each about equally often', () => {
    const rng = new Rng(5);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) counts[rng.int(0, 5)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    for (let i = 0; i < 1000; i++) {
      const k = rng.nextInt(3);
      expect(k === 0 || k === 1 || k === 2).toBe(true);
    }
  });

  it('makes permutations: every index once', () => {
    const p = new Rng(11).permutation(1000);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(p)).not.toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('refuses seeds it would silently fold, and bad bounds', () => {
    for (const seed of [1.5, Number.NaN, 2 ** 32, -(2 ** 31) - 1]) {
      expect(() => new Rng(seed)).toThrow(LetheError);
      expect(() => new Rng(seed)).toThrow(/Seed must be an integer/);
    }
    expect(() => new Rng(1).nextInt(0)).toThrow(/positive integer bound/);
  });

  it('derives distinct 32-bit seeds per label', () => {
    const seeds = new Set<number>();
    for (let e = 0; e < 1000; e++) seeds.add(deriveSeed(42, 7, e));
    expect(seeds.size).toBe(1000);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
    expect(deriveSeed(42, 1)).toBe(deriveSeed(42, 1));
  });
});
