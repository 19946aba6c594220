import { isLetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import { accuracy, attackMetrics, l2Distance, roc } from '../src/index.js';

describe('errors', () => {
  it('every error is a LetheError with a code and says what to pass', () => {
    const oneClass = thrown(() => roc([0.1, 0.2], [1, 1]));
    expect(isLetheError(oneClass, 'invalid-argument')).toBe(true);
    expect(oneClass.message).toMatch(/include samples of the other class/);
    const nan = thrown(() => attackMetrics([0.1, Number.NaN], [1, 0]));
    expect(isLetheError(nan, 'non-finite')).toBe(true);
    const shape = thrown(() => accuracy([1, 2, 3], [0], 2));
    expect(isLetheError(shape)).toBe(true);
    expect(shape.message).toMatch(/not a multiple of classes = 2/);
    expect(isLetheError(thrown(() => l2Distance([1], [1, 2])))).toBe(true);
  });
});
