import { describe, expect, it } from 'vitest';
import {
  accountantFromLedger,
  analyticGaussianSigma,
  PrivacyAccountant,
  type ReleaseInput,
} from '../src/index.js';

const release = (epsilon: number, sensitivity: number, requestIds: string[]): ReleaseInput => ({
  mode: requestIds.length === 1 ? 'online' : 'batch',
  requestIds,
  epsilon,
  delta: 1e-6,
  sensitivity,
  sigma: analyticGaussianSigma({ epsilon, delta: 1e-6, sensitivity }),
});

describe('accountantFromLedger', () => {
  it('replays the releases a ledger recorded into the accountant that recorded them', () => {
    const releases = [release(0.5, 0.2, ['a']), release(1, 0.1, ['c', 'd'])];
    const live = new PrivacyAccountant();
    for (const r of releases) live.record(r);
    // Entry 1 forgot a sample without publishing (no release): it spends nothing.
    const ledger = [
      { request: 0, release: releases[0] },
      { request: 1 },
      { request: 2, release: releases[1] },
    ];
    const replayed = accountantFromLedger(ledger);
    expect(replayed.toJSON()).toEqual(live.toJSON());
    expect(replayed.composition()).toEqual(live.composition());
  });

  it('refuses a ledger out of order or with a release that does not certify', () => {
    const ok = release(0.5, 0.2, ['a']);
    expect(() => accountantFromLedger([{ request: 1, release: ok }])).toThrow(
      /entry 0 has request 1; pass the whole ledger/,
    );
    const weak = { ...ok, sigma: ok.sigma / 10 };
    expect(() => accountantFromLedger([{ request: 0, release: weak }])).toThrow(/sigma/);
    expect(() => accountantFromLedger('x' as never)).toThrow(/entries must be an array/);
  });
});
