import { isLetheError } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import {
  analyticGaussianDelta,
  analyticGaussianSigma,
  auditCertificate,
  certifiedRelease,
  discreteGaussianEpsilon,
  PrivacyAccountant,
  seededNoiseSource,
  verifyCertificate,
} from '../src/index.js';

const weights = Float32Array.from({ length: 4000 }, (_, i) => Math.sin(i));
const sensitivity = { kind: 'user' as const, value: 0.5, description: 'test bound' };

describe('certifiedRelease', () => {
  it('by default: weights on a power-of-two grid plus discrete Gaussian noise, sigma tight under zCDP', () => {
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
    const grid = r.grid!;
    expect(r.certificate.noise.mechanism).toBe('discrete-gaussian');
    // Every published value is an integer number of grid steps: float32 holds it exactly.
    expect(r.weights.every((w) => Number.isInteger(w / grid.gamma))).toBe(true);
    expect(r.record.sensitivity).toBe(0.5 + grid.gamma * Math.sqrt(weights.length));
    expect(discreteGaussianEpsilon(r.sigma, r.record.sensitivity, 1e-5)).toBeLessThanOrEqual(1);
    expect(discreteGaussianEpsilon(0.99 * r.sigma, r.record.sensitivity, 1e-5)).toBeGreaterThan(1);
    // What the discrete mechanism costs here against the continuous Gaussian's sigma.
    expect(r.sigma / analyticGaussianSigma({ epsilon: 1, delta: 1e-5, sensitivity: 0.5 })).toBe(
      grid.loss,
    );
    expect(grid.loss).toBeLessThan(1.2);
    let s = 0;
    for (let i = 0; i < weights.length; i++) s += (r.weights[i]! - weights[i]!) ** 2;
    expect(Math.sqrt(s / weights.length) / r.sigma).toBeGreaterThan(0.95);
    expect(Math.sqrt(s / weights.length) / r.sigma).toBeLessThan(1.05);
    expect(
      verifyCertificate(r.certificate, r.weights, accountant.toJSON(), { allowSeededNoise: true }),
    ).toEqual([]);
  });

  it("'continuous-gaussian': the textbook mechanism, sigma tight on the analytic curve", () => {
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
      mechanism: 'continuous-gaussian',
    });
    expect(r.grid).toBeUndefined();
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
    // A vacuous bound's sigma would publish Infinity in float32: refused, nothing recorded (a
    // bound whose square overflows a double, 1e200, used to hang the grid's calibration).
    const releaseAt = (value: number, mechanism: 'discrete-gaussian' | 'continuous-gaussian') =>
      certifiedRelease({
        weights,
        sensitivity: { kind: 'user', value, description: 'vacuous' },
        epsilon: 1,
        delta: 1e-5,
        accountant,
        requestIds: ['r'],
        backend: 'cpu',
        mechanism,
      });
    for (const mechanism of ['discrete-gaussian', 'continuous-gaussian'] as const) {
      for (const value of [1e53, 1e200]) {
        expect(() => releaseAt(value, mechanism)).toThrow(/overflows float32/);
      }
      // A bound of 0 leaves nothing to calibrate (it used to hang the grid's calibration too).
      expect(() => releaseAt(0, mechanism)).toThrow(
        /certifiedRelease: the sensitivity model gives 0, so there is no noise to calibrate/,
      );
    }
    expect(accountant.releases).toHaveLength(0);
  });

  it('binds the certificate to the run and the deleted ids; the audit says what it checked and trusted', () => {
    const accountant = new PrivacyAccountant();
    const run = { modelDigest: 'm1', trajectoryDigest: 't1', dataDigest: 'd1' };
    const paper = {
      kind: 'paper' as const,
      ...{ eta: 0.05, q: 0.995, C: 5, rho: 1, T: 100, B: 7, batchSize: 32, m: 3 },
    };
    const r = certifiedRelease({
      weights,
      sensitivity: paper,
      epsilon: 1,
      delta: 1e-5,
      accountant,
      requestIds: ['r1'],
      backend: 'cpu',
      run,
      deletedIds: [4, 9, 2],
    });
    expect(r.certificate.run).toEqual(run);
    expect(r.certificate.deletions?.count).toBe(3);
    expect(JSON.stringify(r.certificate)).not.toContain(r.salt!);
    expect(r.certificate.sensitivity.provenance).toMatchObject({ rho: 'assumed', m: 'counted' });
    const evidence = { weights: r.weights, accountantState: accountant.toJSON() };
    const blind = auditCertificate(r.certificate, evidence);
    expect(blind.problems).toEqual([]);
    expect(blind.trusted.join('\n')).toMatch(/the 3 committed ids are the deleted samples/);
    expect(blind.trusted.join('\n')).toMatch(/rho \(assumed\)/);
    const full = auditCertificate(r.certificate, {
      ...evidence,
      run,
      deletedIds: [2, 4, 9],
      salt: r.salt!,
    });
    expect(full.problems).toEqual([]);
    expect(full.checked).toContain('run: model, trajectory and data digests');
    expect(full.checked).toContain('deletions: the ids match the commitment, and m covers them');
    const other = auditCertificate(r.certificate, {
      ...evidence,
      run: { ...run, trajectoryDigest: 't2' },
      deletedIds: [2, 4],
      salt: r.salt!,
    });
    expect(other.problems).toEqual([
      'trajectoryDigest: the certificate says t1, the run has t2',
      "the deleted ids (with this salt) do not match the certificate's commitment",
    ]);
    // Refused before anything is recorded: a rho without an upper-bound provenance, m too small.
    expect(() =>
      certifiedRelease({
        weights,
        sensitivity: { ...paper, rho: 0.97 },
        epsilon: 1,
        delta: 1e-5,
        accountant,
        requestIds: ['r2'],
        backend: 'cpu',
      }),
    ).toThrow(/rho = 0.97 with provenance undefined.*A power-iteration estimate is a lower bound/);
    expect(() =>
      certifiedRelease({
        weights,
        sensitivity: paper,
        epsilon: 1,
        delta: 1e-5,
        accountant,
        requestIds: ['r2'],
        backend: 'cpu',
        deletedIds: [1, 2, 3, 4],
      }),
    ).toThrow(/bound is for m = 3 deletions, but the weights have forgotten 4/);
    expect(accountant.releases).toHaveLength(1);
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
