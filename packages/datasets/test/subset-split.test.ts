import { describe, expect, it } from 'vitest';
import { type Dataset, makeBlobs, subset, trainTestSplit } from '../src/index.js';
import { testQuotas } from '../src/split.js';
import { classCounts } from './fixtures.js';

/** 100 samples whose single feature is their own index, so every sample is identifiable. */
function indexed(n = 100, classes = 4): Dataset {
  const base = makeBlobs({ n, features: 1, classes, seed: 0 });
  return { ...base, x: Float32Array.from({ length: n }, (_, i) => i) };
}

describe('subset', () => {
  const ds = indexed();

  it('draws n distinct samples, with their own labels', () => {
    const s = subset(ds, 30, 7);
    expect(s.n).toBe(30);
    expect(new Set(s.x).size).toBe(30);
    for (let i = 0; i < s.n; i++) expect(s.y[i]).toBe(ds.y[s.x[i]!]);
    expect(s.featureShape).toEqual(ds.featureShape);
    expect(s.numClasses).toBe(ds.numClasses);
  });

  it('is deterministic for a seed, differs across seeds, and nests by size', () => {
    expect(subset(ds, 30, 7).x).toEqual(subset(ds, 30, 7).x);
    expect(subset(ds, 30, 8).x).not.toEqual(subset(ds, 30, 7).x);
    expect(subset(ds, 10, 7).x).toEqual(subset(ds, 30, 7).x.subarray(0, 10));
  });

  it('with n = ds.n is a permutation of every sample; n = 0 is empty', () => {
    const all = subset(ds, 100, 1);
    expect(Array.from(all.x).sort((a, b) => a - b)).toEqual(Array.from(ds.x));
    expect(all.x).not.toEqual(ds.x);
    expect(subset(ds, 0, 1).n).toBe(0);
  });

  it('refuses n > ds.n, negative or fractional n, and bad seeds', () => {
    expect(() => subset(ds, 101, 0)).toThrow(
      /subset of 101 samples from 'blobs', which has only 100; use n <= 100/,
    );
    expect(() => subset(ds, -1, 0)).toThrow(/non-negative integer/);
    expect(() => subset(ds, 2.5, 0)).toThrow(/non-negative integer/);
    expect(() => subset(ds, 5, 1.5)).toThrow(/Seed must be an integer/);
    expect(() => subset(ds, 5, 2 ** 40)).toThrow(/Seed must be an integer in \[-2\^31, 2\^32\)/);
  });
});

describe('trainTestSplit', () => {
  it('is stratified, disjoint, complete and seeded', () => {
    const ds = indexed(103, 4);
    const { train, test } = trainTestSplit(ds, { testFraction: 0.25, seed: 3 });
    expect(test.n).toBe(26); // round(103 * 0.25)
    expect(train.n).toBe(77);
    const all = [...train.x, ...test.x].sort((a, b) => a - b);
    expect(all).toEqual(Array.from(ds.x));
    const total = classCounts(ds.y, 4);
    classCounts(test.y, 4).forEach((count, c) => {
      expect(Math.abs(count - total[c]! * 0.25)).toBeLessThan(1);
    });
    const again = trainTestSplit(ds, { testFraction: 0.25, seed: 3 });
    expect(again.test.x).toEqual(test.x);
    expect(trainTestSplit(ds, { testFraction: 0.25, seed: 4 }).test.x).not.toEqual(test.x);
  });

  it('refuses fractions outside (0, 1)', () => {
    const ds = indexed();
    for (const testFraction of [0, 1, -0.1, Number.NaN]) {
      expect(() => trainTestSplit(ds, { testFraction, seed: 0 })).toThrow(
        /testFraction must be between 0 and 1/,
      );
    }
  });
});

describe('testQuotas (largest remainder)', () => {
  it('adds up to round(n * fraction) and stays within one of each exact share', () => {
    const cases: [number[], number][] = [
      [[1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], 0.2],
      [[1, 1, 1], 0.5],
      [[7, 3, 5, 11], 0.3],
      [[2, 2], 0.25],
    ];
    for (const [counts, fraction] of cases) {
      const quotas = testQuotas(counts, fraction);
      const total = counts.reduce((a, b) => a + b, 0);
      expect(quotas.reduce((a, b) => a + b, 0)).toBe(Math.round(total * fraction));
      quotas.forEach((q, c) => {
        expect(Math.abs(q - counts[c]! * fraction)).toBeLessThan(1);
        expect(q).toBeLessThanOrEqual(counts[c]!);
      });
    }
    // Ties go to the lower class.
    expect(testQuotas([1, 1, 1], 0.5)).toEqual([1, 1, 0]);
  });
});
