import { describe, expect, it } from 'vitest';
import {
  analyticGaussianSigma,
  deletionCapacity,
  type PaperSensitivityModel,
  PrivacyBudget,
  paperSensitivity,
} from '../src/index.js';

const model: PaperSensitivityModel = {
  kind: 'paper',
  eta: 0.05,
  q: 0.995,
  C: 5,
  rho: 0.999,
  T: 500,
  B: 32,
  batchSize: 32,
  m: 0,
};

const sigmaFor = (m: number) =>
  analyticGaussianSigma({
    epsilon: 1,
    delta: 1e-5,
    sensitivity: paperSensitivity({ ...model, m }),
  });

describe('deletionCapacity', () => {
  it('finds the last deletion count whose sigma stays under the ceiling (brute force agrees)', () => {
    const ceiling = sigmaFor(137) * (1 + 1e-9);
    let brute = 0;
    while (sigmaFor(brute + 1) <= ceiling) brute++;
    expect(brute).toBe(137);
    const result = deletionCapacity({
      sensitivity: model,
      epsilon: 1,
      delta: 1e-5,
      sigmaCeiling: ceiling,
    });
    expect(result).toEqual({
      deletions: 137,
      releases: 137,
      limitedBy: 'sigmaCeiling',
      lastSigma: sigmaFor(137),
      nextSigma: sigmaFor(138),
    });
  });

  it('counts in whole batches in batch mode', () => {
    const ceiling = sigmaFor(137) * (1 + 1e-9);
    const result = deletionCapacity({
      sensitivity: model,
      epsilon: 1,
      delta: 1e-5,
      sigmaCeiling: ceiling,
      deletionsPerRelease: 25,
    });
    expect(result.deletions).toBe(125);
    expect(result.releases).toBe(5);
    expect(result.nextSigma).toBe(sigmaFor(150));
  });

  it('stops when the budget is spent, counting what an existing budget already spent', () => {
    const limit = { epsilon: 1, delta: 1e-4, composition: 'basic' as const };
    const fresh = deletionCapacity({
      sensitivity: model,
      epsilon: 0.1,
      delta: 1e-6,
      budget: limit,
    });
    expect(fresh).toMatchObject({ deletions: 10, releases: 10, limitedBy: 'budget' });

    const budget = new PrivacyBudget(limit, { composition: 'basic' });
    budget.record({
      mode: 'batch',
      requestIds: ['a', 'b'],
      epsilon: 0.35,
      delta: 1e-6,
      sensitivity: 1,
      sigma: analyticGaussianSigma({ epsilon: 0.35, delta: 1e-6, sensitivity: 1 }),
    });
    const left = deletionCapacity({ sensitivity: model, epsilon: 0.1, delta: 1e-6, budget });
    expect(left.deletions).toBe(6);
    expect(budget.accountant.releases).toHaveLength(1); // the budget itself is not touched
  });

  it('takes the tighter of the two limits', () => {
    const ceiling = sigmaFor(137) * (1 + 1e-9);
    const both = deletionCapacity({
      sensitivity: model,
      epsilon: 1,
      delta: 1e-5,
      sigmaCeiling: ceiling,
      budget: { epsilon: 5, delta: 1e-3, composition: 'basic' },
    });
    expect(both).toMatchObject({ deletions: 5, limitedBy: 'budget' });
  });

  it('accepts a user bound (constant in m) and a function of m', () => {
    const user = { kind: 'user' as const, value: 0.2, description: 'external bound' };
    const unit = analyticGaussianSigma({ epsilon: 1, delta: 1e-5, sensitivity: 0.2 });
    expect(
      deletionCapacity({
        sensitivity: user,
        epsilon: 1,
        delta: 1e-5,
        sigmaCeiling: unit,
        maxDeletions: 500,
      }),
    ).toMatchObject({ deletions: 500, limitedBy: 'maxDeletions', nextSigma: null });
    expect(
      deletionCapacity({ sensitivity: user, epsilon: 1, delta: 1e-5, sigmaCeiling: unit * 0.99 }),
    ).toMatchObject({ deletions: 0, limitedBy: 'sigmaCeiling', lastSigma: null });
    const linear = (m: number) => ({
      kind: 'user' as const,
      value: 0.01 * m,
      description: '0.01 m',
    });
    const result = deletionCapacity({
      sensitivity: linear,
      epsilon: 1,
      delta: 1e-5,
      sigmaCeiling: analyticGaussianSigma({ epsilon: 1, delta: 1e-5, sensitivity: 0.42 }),
    });
    expect(result.deletions).toBe(42);
  });

  it('needs a limit', () => {
    expect(() => deletionCapacity({ sensitivity: model, epsilon: 1, delta: 1e-5 })).toThrow(
      /sigmaCeiling, a budget, or both/,
    );
    expect(() =>
      deletionCapacity({
        sensitivity: model,
        epsilon: 1,
        delta: 1e-5,
        sigmaCeiling: 1,
        deletionsPerRelease: 0,
      }),
    ).toThrow(/deletionsPerRelease = 0/);
  });
});
