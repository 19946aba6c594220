import { isLetheError } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import {
  analyticGaussianDelta,
  certifiedRelease,
  PrivacyAccountant,
  seededNoiseSource,
  verifyCertificate,
} from '../src/index.js';

const weights = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i));
const sensitivity = { kind: 'user' as const, value: 0.5, description: 'test bound' };

describe('certifiedRelease', () => {
  it('noises with the calibrated sigma, records the release and issues a certificate that verifies', () => {
    const accountant = new PrivacyAccountant();
    const r = certifiedRelease({
      weights,
      sensitivity,
      epsilon: 1,
      delta: 1e-5,
      accountant,
      requestIds: ['req-1'],
      noise: seededNoiseSource(7),
      backend: 'cpu',
    });
    // sigma is tight: it meets delta, and 1% less would not.
    expect(
      analyticGaussianDelta({ epsilon: 1, sigma: r.sigma, sensitivity: 0.5 }),
    ).toBeLessThanOrEqual(1e-5);
    expect(
      analyticGaussianDelta({ epsilon: 1, sigma: 0.99 * r.sigma, sensitivity: 0.5 }),
    ).toBeGreaterThan(1e-5);
    // The noise has the calibrated scale: the empirical std of the difference is sigma.
    let s = 0;
    for (let i = 0; i < weights.length; i++) s += (r.weights[i]! - weights[i]!) ** 2;
    expect(Math.sqrt(s / weights.length) / r.sigma).toBeGreaterThan(0.95);
    expect(Math.sqrt(s / weights.length) / r.sigma).toBeLessThan(1.05);
    expect(r.record.mode).toBe('online');
    expect(accountant.releases).toHaveLength(1);
    expect(
      verifyCertificate(r.certificate, r.weights, accountant.toJSON(), { allowSeededNoise: true }),
    ).toEqual([]);
    // The input weights are left alone.
    expect(weights[1]).toBe(Math.fround(Math.sin(1)));
  });

  it('records nothing when the accountant refuses (a request released twice)', () => {
    const accountant = new PrivacyAccountant();
    const base = { weights, sensitivity, epsilon: 1, delta: 1e-5, accountant, backend: 'cpu' };
    certifiedRelease({ ...base, requestIds: ['a', 'b'] });
    expect(accountant.releases[0]!.mode).toBe('batch');
    expect(() => certifiedRelease({ ...base, requestIds: ['b'] })).toThrow(/already released/);
    expect(accountant.releases).toHaveLength(1);
  });

  it('refuses non-finite weights and an infinite sensitivity, naming the fix', () => {
    const accountant = new PrivacyAccountant();
    const bad = Float32Array.from([1, Number.NaN]);
    const run = (w: Float32Array, value: number) => () =>
      certifiedRelease({
        weights: w,
        sensitivity: { kind: 'user', value, description: 'x' },
        epsilon: 1,
        delta: 1e-5,
        accountant,
        requestIds: ['r'],
        backend: 'cpu',
      });
    try {
      run(bad, 1)();
      expect.unreachable();
    } catch (err) {
      expect(isLetheError(err, 'non-finite')).toBe(true);
      expect((err as Error).message).toMatch(/weights\[1\] is NaN/);
    }
    expect(accountant.releases).toHaveLength(0);
  });
});

describe('certifiedRelease with a budget', () => {
  it('refuses a release over the budget, records nothing and flags the retrain', async () => {
    const { BudgetExceededError, PrivacyBudget } = await import('../src/index.js');
    const budget = new PrivacyBudget({ epsilon: 1.05, delta: 2e-6 });
    const base = {
      weights,
      sensitivity,
      epsilon: 1,
      delta: 1e-6,
      accountant: budget,
      backend: 'cpu',
    };
    certifiedRelease({ ...base, requestIds: ['a'] });
    expect(() => certifiedRelease({ ...base, requestIds: ['b'] })).toThrow(BudgetExceededError);
    expect(budget.accountant.releases).toHaveLength(1);
    expect(budget.retrainNow()).toBe(true);
  });
});
