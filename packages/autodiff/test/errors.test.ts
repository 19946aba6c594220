import { isLetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import { createModel, predictLogits } from '../src/index.js';

describe('errors', () => {
  it('createModel refuses shapes and class counts that are not whole numbers >= 1', () => {
    for (const [options, pattern] of [
      [
        { inputShape: [10.5], classes: 3 },
        /inputShape\[0\] is 10.5; it must be a whole number >= 1/,
      ],
      [{ inputShape: [-9], classes: 3 }, /inputShape\[0\] is -9/],
      [{ inputShape: [0], classes: 3 }, /inputShape\[0\] is 0/],
      [{ inputShape: [4], classes: Number.NaN }, /classes is NaN; it must be a whole number >= 2/],
      [{ inputShape: [4], classes: 2.5 }, /classes is 2.5/],
      [{ inputShape: [4], classes: 3, hidden: 0 }, /hidden is 0/],
      [{ inputShape: [], classes: 3 }, /inputShape must be a non-empty array/],
    ] as const) {
      const err = thrown(() => createModel('mlp', options));
      expect(isLetheError(err, 'invalid-argument')).toBe(true);
      expect(err.message).toMatch(pattern);
    }
    const unknown = thrown(() => createModel('resnet-1000'));
    expect(isLetheError(unknown, 'invalid-argument')).toBe(true);
    expect(unknown.message).toMatch(
      /registered models are logistic, mlp, cnn, lenet; register it first/,
    );
  });

  it('predictLogits refuses inputs of the wrong size', () => {
    const model = createModel('logistic', { inputShape: [4], classes: 3 });
    const err = thrown(() => predictLogits(model, model.init(1), new Float32Array(7), 2));
    expect(isLetheError(err, 'shape-mismatch')).toBe(true);
    expect(err.message).toMatch(/x has 7 values, expected n \* 4 = 8/);
  });
});
