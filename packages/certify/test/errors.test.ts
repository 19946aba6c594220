import { isLetheError, LetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import {
  addGaussianNoise,
  analyticGaussianSigma,
  BudgetExceededError,
  PrivacyAccountant,
} from '../src/index.js';

describe('errors', () => {
  it('every error is a LetheError with a code and names the accepted range', () => {
    const err = thrown(() => analyticGaussianSigma({ epsilon: -1, delta: 1e-5, sensitivity: 1 }));
    expect(isLetheError(err, 'invalid-argument')).toBe(true);
    expect(err.message).toMatch(/epsilon = -1 is invalid; expected a finite number > 0/);
    const twice = thrown(() => {
      const a = new PrivacyAccountant();
      const release = {
        mode: 'online' as const,
        requestIds: ['r'],
        sigma: 10,
        sensitivity: 1,
        epsilon: 1,
        delta: 1e-5,
      };
      a.record(release);
      a.record(release);
    });
    expect(isLetheError(twice)).toBe(true);
    expect(twice.message).toMatch(/already released/);
  });

  it('refuses NaN weights before drawing noise', () => {
    const err = thrown(() => addGaussianNoise(Float32Array.from([1, Number.NaN]), 1));
    expect(isLetheError(err, 'non-finite')).toBe(true);
    expect(err.message).toMatch(/weights\[1\] is NaN/);
  });

  it('BudgetExceededError is a LetheError with code budget-exceeded', () => {
    const e = new BudgetExceededError('over', { epsilon: 2, delta: 1e-5 });
    expect(e).toBeInstanceOf(LetheError);
    expect(e.code).toBe('budget-exceeded');
    expect(e.name).toBe('BudgetExceededError');
  });
});
