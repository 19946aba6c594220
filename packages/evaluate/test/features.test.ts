import { describe, expect, it } from 'vitest';
import { type FEATURE_KINDS, posteriors, unlearningFeatures } from '../src/index.js';

describe('unlearningFeatures', () => {
  // Two samples, three classes.
  const po = [0.7, 0.2, 0.1, 0.1, 0.3, 0.6];
  const pu = [0.5, 0.1, 0.4, 0.2, 0.2, 0.6];

  it('match the hand computation for all five kinds', () => {
    const f = (kind: (typeof FEATURE_KINDS)[number]) => {
      const m = unlearningFeatures(po, pu, 3, kind);
      return {
        cols: m.cols,
        rows: Array.from({ length: m.rows }, (_, r) =>
          Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols)),
        ),
      };
    };
    const close = (got: number[][], want: number[][]) =>
      got.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(want[r]![c]!, 15)));

    const dd = f('direct-diff');
    expect(dd.cols).toBe(3);
    close(dd.rows, [
      [0.2, 0.1, -0.3],
      [-0.1, 0.1, 0],
    ]);
    // Sorted: sample 0 (0.7, 0.2, 0.1) - (0.5, 0.4, 0.1); sample 1 (0.6, 0.3, 0.1) - (0.6, 0.2, 0.2).
    close(f('sorted-diff').rows, [
      [0.2, -0.2, 0],
      [0, 0.1, -0.1],
    ]);
    const l2 = f('l2-distance');
    expect(l2.cols).toBe(1);
    close(l2.rows, [[Math.sqrt(0.04 + 0.01 + 0.09)], [Math.sqrt(0.01 + 0.01)]]);
    const dc = f('direct-concat');
    expect(dc.cols).toBe(6);
    close(dc.rows, [
      [0.7, 0.2, 0.1, 0.5, 0.1, 0.4],
      [0.1, 0.3, 0.6, 0.2, 0.2, 0.6],
    ]);
    close(f('sorted-concat').rows, [
      [0.7, 0.2, 0.1, 0.5, 0.4, 0.1],
      [0.6, 0.3, 0.1, 0.6, 0.2, 0.2],
    ]);
    // The inputs are not reordered in place.
    expect(po).toEqual([0.7, 0.2, 0.1, 0.1, 0.3, 0.6]);
  });

  it('refuses logits, mismatched sample counts and unknown kinds', () => {
    expect(() => unlearningFeatures([2, -1, 0], [0.2, 0.3, 0.5], 3, 'direct-diff')).toThrow(
      /original row 0 has 2 in class 0.*apply posteriors\(\) to logits first/,
    );
    expect(() => unlearningFeatures([0.5, 0.4, 0.4], [0.2, 0.3, 0.5], 3, 'direct-diff')).toThrow(
      /sums to 1.3/,
    );
    expect(() => unlearningFeatures(po, pu.slice(0, 3), 3, 'l2-distance')).toThrow(
      /2 original posteriors but 1 unlearned/,
    );
    expect(() => unlearningFeatures(po, pu, 3, 'cosine' as never)).toThrow(
      /unknown feature 'cosine'/,
    );
  });
});

describe('posteriors', () => {
  it('is a stable softmax', () => {
    const p = posteriors([1000, 0, 1000, 1, 2, 3], 3);
    expect(Array.from(p.subarray(0, 3))).toEqual([0.5, 0, 0.5]);
    const e = [1, 2, 3].map(Math.exp);
    const s = e[0]! + e[1]! + e[2]!;
    Array.from(p.subarray(3)).forEach((v, i) => expect(v).toBeCloseTo(e[i]! / s, 15));
  });
});
