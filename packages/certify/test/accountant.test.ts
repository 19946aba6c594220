import { describe, expect, it } from 'vitest';
import {
  analyticGaussianEpsilon,
  analyticGaussianSigma,
  DEFAULT_RDP_ORDERS,
  PrivacyAccountant,
  type ReleaseInput,
  rdpToEpsilon,
} from '../src/index.js';

const calibrated = (
  epsilon: number,
  delta: number,
  sensitivity: number,
  requestIds: string[],
): ReleaseInput => ({
  mode: requestIds.length === 1 ? 'online' : 'batch',
  requestIds,
  epsilon,
  delta,
  sensitivity,
  sigma: analyticGaussianSigma({ epsilon, delta, sensitivity }),
});

describe('PrivacyAccountant: composition', () => {
  it('sums epsilons and deltas (basic) and D^2 / (2 sigma^2) (Renyi)', () => {
    const acc = new PrivacyAccountant();
    const releases = [
      calibrated(0.5, 1e-6, 0.3, ['a']),
      calibrated(0.25, 2e-6, 0.7, ['b', 'c', 'd']),
      calibrated(1, 1e-7, 0.01, ['e']),
    ];
    for (const r of releases) acc.record(r);
    const state = acc.composition();
    expect(state.releases).toBe(3);
    expect(state.basic.epsilon).toBeCloseTo(1.75, 15);
    expect(state.basic.delta).toBeCloseTo(3.1e-6, 20);
    const rho = releases.reduce((s, r) => s + (r.sensitivity / r.sigma) ** 2 / 2, 0);
    expect(state.rdp.rho).toBeCloseTo(rho, 15);
    // The conversion, recomputed here from its formula over the same orders.
    const expected = Math.min(
      ...DEFAULT_RDP_ORDERS.map(
        (a) =>
          a * rho + Math.log((a - 1) / a) - (Math.log(state.basic.delta) + Math.log(a)) / (a - 1),
      ),
    );
    expect(state.rdp.epsilon).toBeCloseTo(expected, 12);
    expect(state.rdp.delta).toBe(state.basic.delta);
  });

  it('is an upper bound on the exact composed curve, and beats basic composition for many releases', () => {
    // k Gaussian releases at ratio D/sigma compose exactly to one at ratio sqrt(k) D/sigma.
    const acc = new PrivacyAccountant();
    const k = 100;
    const release = calibrated(0.5, 1e-7, 1, ['r0']);
    for (let i = 0; i < k; i++) acc.record({ ...release, requestIds: [`r${i}`] });
    const state = acc.composition();
    const exact = analyticGaussianEpsilon({
      sigma: release.sigma,
      delta: state.basic.delta,
      sensitivity: Math.sqrt(k),
    });
    expect(state.rdp.epsilon).toBeGreaterThanOrEqual(exact);
    expect(state.rdp.epsilon).toBeLessThan(1.5 * exact);
    expect(state.rdp.epsilon).toBeLessThan(state.basic.epsilon / 4);
  });

  it('uses a conversion never worse than the standard RDP(alpha) + log(1/delta)/(alpha - 1)', () => {
    for (const rho of [1e-4, 0.01, 0.5, 3]) {
      for (const delta of [1e-3, 1e-8]) {
        const standard = Math.min(
          ...DEFAULT_RDP_ORDERS.map((a) => a * rho + Math.log(1 / delta) / (a - 1)),
        );
        const { epsilon } = rdpToEpsilon(rho, delta, DEFAULT_RDP_ORDERS);
        expect(epsilon).toBeLessThan(standard);
        expect(epsilon).toBeGreaterThan(0);
      }
    }
    expect(rdpToEpsilon(0, 1e-5, DEFAULT_RDP_ORDERS).epsilon).toBe(0);
  });

  it('reports the composition of any prefix of the log', () => {
    const acc = new PrivacyAccountant();
    acc.record(calibrated(0.5, 1e-6, 1, ['a']));
    const after1 = acc.composition();
    acc.record(calibrated(0.5, 1e-6, 1, ['b']));
    expect(acc.composition(1)).toEqual(after1);
    expect(acc.composition(0)).toEqual({
      releases: 0,
      basic: { epsilon: 0, delta: 0 },
      rdp: { epsilon: 0, delta: 0, rho: 0, order: 0 },
      gdp: null,
    });
    expect(() => acc.composition(3)).toThrow(/releases = 3/);
  });
});

describe('PrivacyAccountant: release records', () => {
  it('models online releases (one request) and batch releases (several)', () => {
    const acc = new PrivacyAccountant();
    const online = acc.record(calibrated(1, 1e-6, 1, ['u1']));
    const batch = acc.record(calibrated(1, 1e-6, 1, ['u2', 'u3', 'u4']));
    expect(online).toMatchObject({ index: 0, mode: 'online', requestIds: ['u1'] });
    expect(batch).toMatchObject({ index: 1, mode: 'batch', requestIds: ['u2', 'u3', 'u4'] });
    const base = calibrated(1, 1e-6, 1, ['x']);
    expect(() => acc.record({ ...base, mode: 'online', requestIds: ['x', 'y'] })).toThrow(
      /exactly one request.*'batch'/,
    );
    expect(() => acc.record({ ...base, mode: 'batch', requestIds: [] })).toThrow(/at least one/);
    expect(() => acc.record({ ...base, mode: 'batch', requestIds: ['x', 'x'] })).toThrow(
      /duplicates/,
    );
    expect(() => acc.record({ ...base, requestIds: ['u3'] })).toThrow(
      /already released in release 1/,
    );
    expect(acc.releases).toHaveLength(2);
  });

  it('refuses a release whose sigma does not certify its (epsilon, delta)', () => {
    const acc = new PrivacyAccountant();
    const release = calibrated(1, 1e-6, 2, ['a']);
    expect(() => acc.record({ ...release, sigma: release.sigma * (1 - 1e-6) })).toThrow(
      /gives delta = .* > 0.000001.*analyticGaussianSigma/,
    );
    expect(() => acc.record({ ...release, epsilon: 0 })).toThrow(/epsilon = 0/);
    expect(acc.releases).toHaveLength(0);
  });

  it('is not changed through the records it hands out', () => {
    const acc = new PrivacyAccountant();
    const record = acc.record(calibrated(1, 1e-6, 1, ['a']));
    record.requestIds.push('b');
    expect(acc.releases[0]!.requestIds).toEqual(['a']);
  });
});

describe('PrivacyAccountant: serialisation', () => {
  it('round-trips through JSON and then continues exactly as the original', () => {
    const original = new PrivacyAccountant({ orders: [1.5, 2, 4, 8, 16, 32, 64] });
    for (let i = 0; i < 5; i++)
      original.record(calibrated(0.1 * (i + 1), 1e-7, 0.3 + i, [`q${i}`]));
    const json = JSON.stringify(original);
    const restored = PrivacyAccountant.fromJSON(json);
    expect(restored.toJSON()).toStrictEqual(original.toJSON());
    expect(restored.composition()).toStrictEqual(original.composition());
    for (let i = 5; i < 9; i++) {
      const next = calibrated(0.3, 1e-8, 0.1 * i, [`q${i}`]);
      original.record(next);
      restored.record(next);
    }
    expect(restored.composition()).toStrictEqual(original.composition());
    expect(JSON.stringify(restored)).toBe(JSON.stringify(original));
    expect(restored.orders).toEqual([1.5, 2, 4, 8, 16, 32, 64]);
  });

  it('rejects foreign or inconsistent state', () => {
    expect(() => PrivacyAccountant.fromJSON({ format: 'x' } as never)).toThrow(
      /lethe-privacy-accountant/,
    );
    const acc = new PrivacyAccountant();
    acc.record(calibrated(1, 1e-6, 1, ['a']));
    const state = acc.toJSON();
    state.releases[0]!.index = 4;
    expect(() => PrivacyAccountant.fromJSON(state)).toThrow(/position 0 has index 4/);
    const underNoised = acc.toJSON();
    underNoised.releases[0]!.sigma /= 2;
    expect(() => PrivacyAccountant.fromJSON(underNoised)).toThrow(/calibrate sigma/);
    expect(() => new PrivacyAccountant({ orders: [1] })).toThrow(/alpha = 1/);
  });
});
