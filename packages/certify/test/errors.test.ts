import { isLetheError, LetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import {
  addGaussianNoise,
  analyticGaussianSigma,
  BudgetExceededError,
  createCertificate,
  PrivacyAccountant,
  PrivacyBudget,
  type ReleaseInput,
  spectralNorm,
  type UserSensitivityModel,
} from '../src/index.js';

const sensitivity: UserSensitivityModel = { kind: 'user', value: 1, description: 'test bound' };

function release(requestIds: string[], epsilon = 1): ReleaseInput {
  const delta = 1e-5;
  return {
    mode: requestIds.length === 1 ? 'online' : 'batch',
    requestIds,
    sigma: analyticGaussianSigma({ epsilon, delta, sensitivity: 1 }),
    sensitivity: 1,
    epsilon,
    delta,
  };
}

describe('errors', () => {
  it('every error is a LetheError with a code and names the accepted range', () => {
    const err = thrown(() => analyticGaussianSigma({ epsilon: -1, delta: 1e-5, sensitivity: 1 }));
    expect(isLetheError(err, 'invalid-argument')).toBe(true);
    expect(err.message).toMatch(/epsilon = -1 is invalid; expected a finite number > 0/);
    const under = thrown(() =>
      new PrivacyAccountant().record({ ...release(['r']), sigma: release(['r']).sigma / 2 }),
    );
    expect(isLetheError(under, 'invalid-argument')).toBe(true);
    expect(under.message).toMatch(/calibrate sigma with analyticGaussianSigma/);
  });

  it('a request released twice, or listed twice, is a duplicate-id', () => {
    const a = new PrivacyAccountant();
    a.record(release(['r']));
    const twice = thrown(() => a.record(release(['r'])));
    expect(isLetheError(twice, 'duplicate-id')).toBe(true);
    expect(twice.message).toMatch(/already released in release 0; each request is released once/);
    const listed = thrown(() => a.record(release(['s', 's'])));
    expect(isLetheError(listed, 'duplicate-id')).toBe(true);
    expect(listed.message).toMatch(/list each request once/);
  });

  it('refuses saved state that is not what toJSON wrote', () => {
    const json = thrown(() => PrivacyAccountant.fromJSON('{"format":'));
    expect(isLetheError(json, 'invalid-argument')).toBe(true);
    expect(json.message).toMatch(/not valid JSON .*pass the string JSON.stringify made of toJSON/);
    const noReleases = thrown(() =>
      PrivacyAccountant.fromJSON({ format: 'lethe-privacy-accountant', version: 1 } as never),
    );
    expect(isLetheError(noReleases, 'invalid-argument')).toBe(true);
    expect(noReleases.message).toMatch(/pass what PrivacyAccountant.toJSON\(\) returned/);
    const budget = thrown(() => PrivacyBudget.fromJSON('not json'));
    expect(isLetheError(budget, 'invalid-argument')).toBe(true);
    expect(budget.message).toMatch(/PrivacyBudget.fromJSON: the state is not valid JSON/);
  });

  it('a certificate for a release the accountant did not record is a mismatch', () => {
    const accountant = new PrivacyAccountant();
    const recorded = accountant.record(release(['r']));
    const err = thrown(() =>
      createCertificate({
        accountant: new PrivacyAccountant(),
        release: recorded,
        sensitivityModel: sensitivity,
        weights: new Float32Array(3),
        noise: { kind: 'crypto', algorithm: 'test' },
        backend: 'cpu',
        versions: {},
        approximationOrder: 1,
      }),
    );
    expect(isLetheError(err, 'mismatch')).toBe(true);
    expect(err.message).toMatch(/not in the accountant's log as given; record it first/);
  });

  it('refuses NaN weights before drawing noise', () => {
    const err = thrown(() => addGaussianNoise(Float32Array.from([1, Number.NaN]), 1));
    expect(isLetheError(err, 'non-finite')).toBe(true);
    expect(err.message).toMatch(/weights\[1\] is NaN; pass finite values/);
  });

  it('spectralNorm refuses an operator of the wrong size or with NaN products', () => {
    const size = thrown(() => spectralNorm({ dim: 3, apply: () => new Float64Array(2) }));
    expect(isLetheError(size, 'shape-mismatch')).toBe(true);
    expect(size.message).toMatch(/Return one entry per coordinate, or set dim/);
    const nan = thrown(() => spectralNorm({ dim: 2, apply: () => Float64Array.of(Number.NaN, 0) }));
    expect(isLetheError(nan, 'non-finite')).toBe(true);
    expect(nan.message).toMatch(/check the operator/);
  });

  it('BudgetExceededError is a LetheError with code budget-exceeded, thrown by record', () => {
    const e = new BudgetExceededError('over', { epsilon: 2, delta: 1e-5 });
    expect(e).toBeInstanceOf(LetheError);
    expect(e).toBeInstanceOf(BudgetExceededError);
    expect(e.code).toBe('budget-exceeded');
    expect(e.name).toBe('BudgetExceededError');

    const budget = new PrivacyBudget({ epsilon: 1.5, delta: 1e-4 }, { composition: 'basic' });
    budget.record(release(['a']));
    const over = thrown(() => budget.record(release(['b'])));
    expect(over).toBeInstanceOf(BudgetExceededError);
    expect(isLetheError(over, 'budget-exceeded')).toBe(true);
    expect(over.message).toMatch(/over the budget .*retrain on the remaining data instead/);
  });
});
