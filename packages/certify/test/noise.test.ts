import { describe, expect, it } from 'vitest';
import {
  addGaussianNoise,
  cryptoNoiseSource,
  gaussianNoise,
  type NoiseSource,
  seededNoiseSource,
} from '../src/index.js';

function moments(x: Float32Array): { mean: number; variance: number; kurtosis: number } {
  let mean = 0;
  for (const v of x) mean += v;
  mean /= x.length;
  let m2 = 0;
  let m4 = 0;
  for (const v of x) {
    m2 += (v - mean) ** 2;
    m4 += (v - mean) ** 4;
  }
  m2 /= x.length;
  m4 /= x.length;
  return { mean, variance: m2, kurtosis: m4 / (m2 * m2) };
}

describe('gaussianNoise', () => {
  it('has mean 0 and variance sigma^2 (fixed seed, 6-standard-error bounds)', () => {
    const n = 200_000;
    const sigma = 2.5;
    const { mean, variance, kurtosis } = moments(gaussianNoise(n, sigma, seededNoiseSource(12345)));
    // Standard errors: sigma/sqrt(n) for the mean, sigma^2 sqrt(2/n) for the variance.
    expect(Math.abs(mean)).toBeLessThan((6 * sigma) / Math.sqrt(n));
    expect(Math.abs(variance - sigma * sigma)).toBeLessThan(6 * sigma * sigma * Math.sqrt(2 / n));
    // A normal has kurtosis 3 (a uniform would give 1.8, a Laplace 6).
    expect(Math.abs(kurtosis - 3)).toBeLessThan(0.1);
  });

  it('puts the right mass in the tails', () => {
    const x = gaussianNoise(200_000, 1, seededNoiseSource(99));
    const beyond2 = x.filter((v) => Math.abs(v) > 2).length / x.length;
    expect(Math.abs(beyond2 - 0.0455)).toBeLessThan(0.003); // 2 Phi(-2) = 0.0455
  });

  it('is reproducible with a seed and differs across seeds', () => {
    const a = gaussianNoise(101, 1, seededNoiseSource(7));
    const b = gaussianNoise(101, 1, seededNoiseSource(7));
    const c = gaussianNoise(101, 1, seededNoiseSource(8));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toHaveLength(101);
  });

  it('draws from node:crypto by default, with the right moments and no repetition', () => {
    const source = cryptoNoiseSource();
    expect(source.kind).toBe('crypto');
    const n = 100_000; // spans several refills of the byte pool
    const x = gaussianNoise(n, 1, source);
    const { mean, variance } = moments(x);
    expect(Math.abs(mean)).toBeLessThan(6 / Math.sqrt(n));
    expect(Math.abs(variance - 1)).toBeLessThan(6 * Math.sqrt(2 / n));
    expect(gaussianNoise(8, 1)).not.toEqual(gaussianNoise(8, 1));
  });

  it('stays finite when the uniform source returns its extreme values', () => {
    const values = [0, 0.25, 1 - 2 ** -53, 0.5];
    let i = 0;
    const extreme: NoiseSource = {
      kind: 'seeded',
      algorithm: 'test',
      nextUniform: () => values[i++ % values.length]!,
    };
    const x = gaussianNoise(4, 1, extreme);
    for (const v of x) expect(Number.isFinite(v)).toBe(true);
    // u = 0 maps to radius 0; u = 1 - 2^-53 to the largest radius sqrt(106 ln 2) ~ 8.57.
    expect(Math.abs(x[0]!)).toBe(0);
    expect(Math.abs(x[2]!)).toBeCloseTo(Math.sqrt(106 * Math.LN2) * Math.abs(Math.cos(Math.PI)), 5);
  });

  it('records the source kind and algorithm', () => {
    expect(seededNoiseSource(1)).toMatchObject({
      kind: 'seeded',
      algorithm: expect.stringMatching(/xoshiro128/),
    });
    expect(cryptoNoiseSource().algorithm).toMatch(/node:crypto/);
  });

  it('adds noise to weights in float64 before one rounding', () => {
    const w = Float32Array.from([1, -2, 3.5]);
    const noisy = addGaussianNoise(w, 0.1, seededNoiseSource(5));
    const noise = gaussianNoise(3, 0.1, seededNoiseSource(5));
    noisy.forEach((v, i) => expect(v).toBeCloseTo(w[i]! + noise[i]!, 6));
    expect(addGaussianNoise(w, 0, seededNoiseSource(5))).toEqual(w);
  });

  it('rejects bad arguments', () => {
    expect(() => gaussianNoise(3, -1)).toThrow(/sigma = -1/);
    expect(() => gaussianNoise(1.5, 1)).toThrow(/d = 1.5/);
    expect(() => seededNoiseSource(-3)).toThrow(/seed = -3/);
    expect(() => seededNoiseSource(2 ** 32)).toThrow(/seed = 4294967296/);
  });
});
