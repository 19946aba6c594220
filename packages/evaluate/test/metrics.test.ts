import { describe, expect, it } from 'vitest';
import { accuracy, crossEntropyLosses, l2Distance, pearson } from '../src/index.js';

describe('metrics', () => {
  it('l2Distance is the Euclidean norm of the difference', () => {
    expect(l2Distance([0, 0, 0], [1, 2, 2])).toBe(3);
    expect(() => l2Distance([1], [1, 2])).toThrow(/a has 1 entries but b has 2/);
  });

  it('pearson: +1, -1, and a hand-computed value', () => {
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 14);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBeCloseTo(-1, 14);
    // x = 1..4, y = [1, 3, 2, 4]: cov 1.25, var_x 1.25, var_y 1.25 -> 0.8.
    expect(pearson([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 14);
    expect(Number.isNaN(pearson([1, 1, 1], [1, 2, 3]))).toBe(true);
  });

  it('accuracy counts rows whose top logit is the label', () => {
    const logits = [3, 1, 0, 0, 5, 1, 2, 2, 9];
    expect(accuracy(logits, [0, 1, 1], 3)).toBeCloseTo(2 / 3, 15);
    expect(accuracy(logits, [0, 1, 2], 3)).toBe(1);
    expect(() => accuracy(logits, [0, 1], 3)).toThrow(/3 rows of logits but 2 labels/);
    expect(() => accuracy(logits, [0, 1, 3], 3)).toThrow(/labels\[2\] is 3/);
  });

  it('crossEntropyLosses equals -log softmax_y, stably for large logits', () => {
    const logits = [1, 2, 3, 1000, 0, -1000];
    const losses = crossEntropyLosses(logits, [2, 0], 3);
    const p2 = Math.exp(3) / (Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(losses[0]).toBeCloseTo(-Math.log(p2), 14);
    expect(losses[1]).toBeCloseTo(0, 14);
    expect(() => crossEntropyLosses([1, Number.NaN], [0], 2)).toThrow(/finite/);
  });
});
