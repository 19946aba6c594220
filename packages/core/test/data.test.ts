import { describe, expect, it } from 'vitest';
import {
  assertRecipeDigest,
  isLetheError,
  LetheError,
  selectRows,
  validateSampleIds,
  validateTrainingData,
} from '../src/index.js';

const data = {
  x: Float32Array.from([0, 1, 10, 11, 20, 21]),
  y: Int32Array.from([0, 1, 2]),
  n: 3,
};
const shape = { inputSize: 2, numClasses: 3, name: 'model m' };

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return isLetheError(err) ? err.code : 'not a LetheError';
  }
  return undefined;
}

describe('selectRows', () => {
  it('copies the chosen rows in the order asked, renumbered', () => {
    const rows = selectRows(data, [2, 0], 2);
    expect(Array.from(rows.x)).toEqual([20, 21, 0, 1]);
    expect(Array.from(rows.y)).toEqual([2, 0]);
    expect(rows.n).toBe(2);
    rows.x[0] = -1;
    expect(data.x[4]).toBe(20);
  });
});

describe('validateTrainingData', () => {
  it('accepts data that fits', () => {
    expect(() => validateTrainingData(data, shape)).not.toThrow();
  });

  it('names wrong lengths, non-finite features and labels out of range', () => {
    expect(codeOf(() => validateTrainingData({ ...data, n: 2 }, shape))).toBe('shape-mismatch');
    expect(codeOf(() => validateTrainingData(data, { ...shape, inputSize: 3 }))).toBe(
      'shape-mismatch',
    );
    const nan = { ...data, x: Float32Array.from([0, 1, Number.NaN, 11, 20, 21]) };
    expect(() => validateTrainingData(nan, shape)).toThrow(/sample 1 .*non-finite.*index 0/);
    expect(codeOf(() => validateTrainingData(data, { ...shape, numClasses: 2 }))).toBe(
      'invalid-argument',
    );
  });
});

describe('validateSampleIds', () => {
  it('returns the ids as Int32Array', () => {
    expect(Array.from(validateSampleIds([2, 0], { context: 'test', n: 3 }))).toEqual([2, 0]);
    expect(validateSampleIds([], { context: 'test', n: 3, allowEmpty: true }).length).toBe(0);
  });

  it('refuses unknown, fractional, repeated ids and empty lists with a code', () => {
    expect(codeOf(() => validateSampleIds([3], { context: 'forget', n: 3 }))).toBe('unknown-id');
    expect(codeOf(() => validateSampleIds([-1], { context: 'forget', n: 3 }))).toBe('unknown-id');
    expect(codeOf(() => validateSampleIds([1.5], { context: 'forget', n: 3 }))).toBe('unknown-id');
    expect(codeOf(() => validateSampleIds([1, 1], { context: 'forget', n: 3 }))).toBe(
      'duplicate-id',
    );
    expect(codeOf(() => validateSampleIds([], { context: 'forget', n: 3 }))).toBe(
      'invalid-argument',
    );
    expect(() => validateSampleIds([7], { context: 'forget', n: 3 })).toThrow(
      /forget: unknown sample id 7: the training set has ids 0\.\.2/,
    );
  });
});

describe('assertRecipeDigest', () => {
  it('refuses a rebuilt model with another layout', () => {
    const recipe = { name: 'mlp', options: {}, digest: 'abc' };
    expect(() => assertRecipeDigest(recipe, 'abc')).not.toThrow();
    const err = (() => {
      try {
        assertRecipeDigest(recipe, 'xyz');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LetheError);
    expect((err as LetheError).code).toBe('mismatch');
  });
});
