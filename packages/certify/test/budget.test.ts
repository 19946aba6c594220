import { describe, expect, it, vi } from 'vitest';
import {
  analyticGaussianSigma,
  BudgetExceededError,
  PrivacyBudget,
  type ReleaseInput,
} from '../src/index.js';

let nextId = 0;
const release = (epsilon: number, delta: number, sensitivity = 1): ReleaseInput => ({
  mode: 'online',
  requestIds: [`req-${nextId++}`],
  epsilon,
  delta,
  sensitivity,
  sigma: analyticGaussianSigma({ epsilon, delta, sensitivity }),
});

describe('PrivacyBudget', () => {
  it('admits three releases of 0.1 in a basic budget of 0.3 and refuses the fourth', () => {
    const onRetrainNeeded = vi.fn();
    const budget = new PrivacyBudget(
      { epsilon: 0.3, delta: 3e-6 },
      { composition: 'basic', onRetrainNeeded },
    );
    for (let i = 0; i < 3; i++) {
      const next = release(0.1, 1e-6);
      expect(budget.wouldExceed(next)).toBe(false);
      budget.record(next);
    }
    expect(budget.spent()).toMatchObject({ fits: true, method: 'basic' });
    const fourth = release(0.1, 1e-6);
    expect(budget.wouldExceed(fourth)).toBe(true);
    expect(budget.retrainNow()).toBe(false); // asking is not refusing
    expect(() => budget.record(fourth)).toThrow(BudgetExceededError);
    expect(() => budget.record(fourth)).toThrow(/retrain on the remaining data/);
    expect(budget.retrainNow()).toBe(true);
    expect(onRetrainNeeded).toHaveBeenCalledTimes(1);
    expect(budget.accountant.releases).toHaveLength(3);
  });

  it('refuses on delta as well as on epsilon', () => {
    const budget = new PrivacyBudget({ epsilon: 10, delta: 1.5e-6 }, { composition: 'basic' });
    budget.record(release(0.1, 1e-6));
    expect(budget.wouldExceed(release(0.1, 1e-6))).toBe(true);
  });

  it('with Renyi composition admits many more small releases than basic composition', () => {
    const count = (composition: 'basic' | 'rdp' | 'best') => {
      const budget = new PrivacyBudget({ epsilon: 1, delta: 1e-5 }, { composition });
      let n = 0;
      while (!budget.retrainNow(release(0.05, 1e-8, 0.5)) && n < 10_000) {
        budget.record(release(0.05, 1e-8, 0.5));
        n++;
      }
      return n;
    };
    const basic = count('basic');
    const rdp = count('rdp');
    expect(basic).toBe(20);
    expect(rdp).toBeGreaterThan(3 * basic);
    expect(count('best')).toBe(Math.max(basic, rdp));
  });

  it('signals through retrainNow(next) when the next release cannot be certified', () => {
    const onRetrainNeeded = vi.fn();
    const budget = new PrivacyBudget({ epsilon: 1, delta: 1e-5 }, { onRetrainNeeded });
    expect(budget.retrainNow(release(0.5, 1e-6))).toBe(false);
    expect(budget.retrainNow(release(2, 1e-6))).toBe(true);
    expect(budget.retrainNow()).toBe(true);
    expect(onRetrainNeeded).toHaveBeenCalledWith('the next release does not fit the budget');
  });

  it('round-trips through JSON and continues identically', () => {
    const budget = new PrivacyBudget({ epsilon: 2, delta: 1e-5 }, { composition: 'rdp' });
    for (let i = 0; i < 4; i++) budget.record(release(0.2, 1e-7, 0.4));
    const restored = PrivacyBudget.fromJSON(JSON.stringify(budget));
    expect(restored.toJSON()).toStrictEqual(budget.toJSON());
    for (let i = 0; i < 30; i++) {
      const next = release(0.2, 1e-7, 0.4);
      expect(restored.wouldExceed(next)).toBe(budget.wouldExceed(next));
      if (budget.wouldExceed(next)) break;
      budget.record(next);
      restored.record(next);
    }
    expect(restored.spent()).toStrictEqual(budget.spent());
    expect(JSON.stringify(restored)).toBe(JSON.stringify(budget));
  });

  it('keeps the retrain flag across serialisation', () => {
    const budget = new PrivacyBudget({ epsilon: 0.1, delta: 1e-5 });
    budget.retrainNow(release(1, 1e-6));
    expect(PrivacyBudget.fromJSON(budget.toJSON()).retrainNow()).toBe(true);
  });

  it('rejects invalid limits and methods', () => {
    expect(() => new PrivacyBudget({ epsilon: 0, delta: 1e-5 })).toThrow(/epsilon = 0/);
    expect(() => new PrivacyBudget({ epsilon: 1, delta: 1 })).toThrow(/delta = 1/);
    expect(
      () => new PrivacyBudget({ epsilon: 1, delta: 1e-5 }, { composition: 'zcdp' as never }),
    ).toThrow(/'basic', 'rdp', 'gdp' or 'best'/);
  });
});
