import { describe, expect, it } from 'vitest';
import { makeBlobs } from '../src/index.js';
import { classCounts, meanStd } from './fixtures.js';

describe('makeBlobs', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const a = makeBlobs({ n: 50, features: 3, classes: 4, seed: 11 });
    const b = makeBlobs({ n: 50, features: 3, classes: 4, seed: 11 });
    const c = makeBlobs({ n: 50, features: 3, classes: 4, seed: 12 });
    expect(b.x).toEqual(a.x);
    expect(b.y).toEqual(a.y);
    expect(c.x).not.toEqual(a.x);
  });

  it('has the requested shape and balanced classes in mixed order', () => {
    const ds = makeBlobs({ n: 103, features: 5, classes: 4, seed: 0 });
    expect(ds.n).toBe(103);
    expect(ds.x.length).toBe(103 * 5);
    expect(ds.featureShape).toEqual([5]);
    expect(ds.numClasses).toBe(4);
    expect(classCounts(ds.y, 4)).toEqual([26, 26, 26, 25]);
    expect(Array.from(ds.y.subarray(0, 8))).not.toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('draws each blob with the requested spread around centres inside the box', () => {
    const features = 2;
    const ds = makeBlobs({
      n: 20000,
      features,
      classes: 2,
      seed: 5,
      clusterStd: 0.5,
      centerBox: 4,
    });
    for (let c = 0; c < 2; c++) {
      for (let j = 0; j < features; j++) {
        const values: number[] = [];
        for (let i = 0; i < ds.n; i++) if (ds.y[i] === c) values.push(ds.x[i * features + j]!);
        const { mean, std } = meanStd(values);
        expect(Math.abs(mean)).toBeLessThanOrEqual(4 + 0.05);
        // Sample std of 10,000 normals is within ~3% of the true one (about 4 standard errors).
        expect(Math.abs(std - 0.5)).toBeLessThan(0.015);
      }
    }
  });

  it('with clusterStd 0 puts every sample of a class on its centre', () => {
    const ds = makeBlobs({ n: 30, features: 2, classes: 3, seed: 1, clusterStd: 0 });
    const centre = new Map<number, string>();
    for (let i = 0; i < ds.n; i++) {
      const key = `${ds.x[2 * i]},${ds.x[2 * i + 1]}`;
      expect(centre.get(ds.y[i]!) ?? key).toBe(key);
      centre.set(ds.y[i]!, key);
    }
    expect(new Set(centre.values()).size).toBe(3);
  });

  it('refuses bad parameters', () => {
    expect(() => makeBlobs({ n: 0, features: 2, classes: 2, seed: 0 })).toThrow(
      /n must be a positive integer/,
    );
    expect(() => makeBlobs({ n: 5, features: 1.5, classes: 2, seed: 0 })).toThrow(
      /features must be a positive integer/,
    );
    expect(() => makeBlobs({ n: 5, features: 2, classes: 0, seed: 0 })).toThrow(
      /classes must be a positive integer/,
    );
    expect(() => makeBlobs({ n: 5, features: 2, classes: 2, seed: 0, clusterStd: -1 })).toThrow(
      /clusterStd/,
    );
    expect(() => makeBlobs({ n: 5, features: 2, classes: 2, seed: 0.5 })).toThrow(
      /Seed must be an integer/,
    );
  });
});
