import { isLetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  attackMetrics,
  l2Distance,
  liraScores,
  posteriors,
  roc,
  trainAttack,
  trainShadows,
  unlearningFeatures,
} from '../src/index.js';

async function rejected(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the promise to reject, and it resolved');
}

describe('errors', () => {
  it('every error is a LetheError with a code and says what to pass', () => {
    const oneClass = thrown(() => roc([0.1, 0.2], [1, 1]));
    expect(isLetheError(oneClass, 'invalid-argument')).toBe(true);
    expect(oneClass.message).toMatch(/include samples of the other class/);
    const nan = thrown(() => attackMetrics([0.1, Number.NaN], [1, 0]));
    expect(isLetheError(nan, 'non-finite')).toBe(true);
    expect(nan.message).toMatch(/scores\[1\] is NaN; every value must be a finite number/);
    const shape = thrown(() => accuracy([1, 2, 3], [0], 2));
    expect(isLetheError(shape, 'shape-mismatch')).toBe(true);
    expect(shape.message).toMatch(/not a multiple of classes = 2; pass the \[n, classes\] logits/);
    const classes = thrown(() => posteriors([1, 2], 1));
    expect(isLetheError(classes, 'invalid-argument')).toBe(true);
    expect(classes.message).toMatch(
      /needs at least 2 classes, got 1; pass the model's class count/,
    );
  });

  it('inputs of different lengths are a shape-mismatch', () => {
    const lengths = thrown(() => l2Distance([1], [1, 2]));
    expect(isLetheError(lengths, 'shape-mismatch')).toBe(true);
    expect(lengths.message).toMatch(/pass one entry per sample in both/);
    const pairs = thrown(() =>
      unlearningFeatures([0.5, 0.5], [0.5, 0.5, 0.2, 0.8], 2, 'direct-diff'),
    );
    expect(isLetheError(pairs, 'shape-mismatch')).toBe(true);
    expect(pairs.message).toMatch(/pass both models' posteriors on the same samples/);
    const shadows = { poolSize: 2, members: [Uint8Array.of(1, 0)], confidences: [] };
    const set = thrown(() => liraScores(shadows, [1, 2]));
    expect(isLetheError(set, 'shape-mismatch')).toBe(true);
    expect(set.message).toMatch(/pass the ShadowSet trainShadows returned/);
  });

  it('l2Distance refuses NaN weights instead of returning NaN', () => {
    const err = thrown(() => l2Distance([1, Number.NaN], [1, 2]));
    expect(isLetheError(err, 'non-finite')).toBe(true);
    expect(err.message).toMatch(/l2Distance: a\[1\] is NaN; every value must be a finite number/);
  });

  it('trainAttack refuses bad options with invalid-argument', () => {
    const m = { rows: 2, cols: 1, data: Float64Array.of(0, 1) };
    for (const [options, pattern] of [
      [{ learningRate: -1 }, /learningRate must be a finite number > 0, got -1; leave it out/],
      [{ l2: Number.NaN }, /l2 must be a finite number >= 0, got NaN; leave it out/],
      [{ seed: 0.5 }, /seed must be a whole number, got 0.5/],
    ] as const) {
      const err = thrown(() =>
        trainAttack(m, [1, 0], { classifier: 'logistic', seed: 0, ...options }),
      );
      expect(isLetheError(err, 'invalid-argument')).toBe(true);
      expect(err.message).toMatch(pattern);
    }
  });

  it('trainShadows refuses bad labels before training any shadow', async () => {
    let trained = 0;
    const train = () => {
      trained++;
      return [0, 1, 0, 1, 0, 1];
    };
    const options = { poolSize: 3, classes: 2, count: 2, seed: 0, train };
    const label = await rejected(trainShadows({ ...options, labels: [0, 1.5, 0] }));
    expect(isLetheError(label, 'invalid-argument')).toBe(true);
    expect(label.message).toMatch(
      /trainShadows: labels\[1\] is 1.5; a label must be an integer in \[0, 1\]/,
    );
    const count = await rejected(trainShadows({ ...options, labels: [0, 1] }));
    expect(isLetheError(count, 'shape-mismatch')).toBe(true);
    expect(count.message).toMatch(/pass one label per pool sample/);
    expect(trained).toBe(0);

    const nan = await rejected(
      trainShadows({ ...options, labels: [0, 1, 0], train: () => [0, 1, 0, 1, 0, Number.NaN] }),
    );
    expect(isLetheError(nan, 'non-finite')).toBe(true);
    expect(nan.message).toMatch(
      /trainShadows: shadow 0: logitScaledConfidence: logits\[5\] is NaN/,
    );
  });
});
