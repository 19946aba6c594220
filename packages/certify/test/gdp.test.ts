// Gaussian differential privacy: repeated continuous Gaussian releases compose exactly into one
// Gaussian mechanism with mu = sqrt(sum (D_i / sigma_i)^2), whose (epsilon, delta) curve is the
// analytic Gaussian's. Checked here against the closed form evaluated independently, against the
// Renyi account it must never lose to, and where it must not apply.
import { describe, expect, it } from 'vitest';
import {
  analyticGaussianSigma,
  certifiedRelease,
  deletionCapacity,
  PrivacyAccountant,
  PrivacyBudget,
  type ReleaseInput,
  seededNoiseSource,
  verifyCertificate,
} from '../src/index.js';
import { testRandom } from './reference.js';

type Mechanism = 'continuous-gaussian' | 'discrete-gaussian';

const release = (
  id: string,
  epsilon: number,
  sensitivity: number,
  mechanism?: Mechanism,
  delta = 1e-6,
): ReleaseInput => ({
  mode: 'online',
  requestIds: [id],
  epsilon,
  delta,
  sensitivity,
  sigma: analyticGaussianSigma({ epsilon, delta, sensitivity }),
  ...(mechanism === undefined ? {} : { mechanism }),
});

/** Phi(x) by Simpson's rule on the density from -40 (far below any double's reach). */
function normalCdf(x: number): number {
  const lo = -40;
  if (x <= lo) return 0;
  const n = 200_000;
  const h = (x - lo) / n;
  const f = (t: number) => Math.exp(-(t * t) / 2) / Math.sqrt(2 * Math.PI);
  let s = f(lo) + f(x);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * f(lo + i * h);
  return (s * h) / 3;
}

/** delta(epsilon) of mu-GDP (Dong, Roth, Su 2022, Corollary 2.13), evaluated directly. */
const gdpDelta = (mu: number, epsilon: number) =>
  normalCdf(-epsilon / mu + mu / 2) - Math.exp(epsilon) * normalCdf(-epsilon / mu - mu / 2);

describe('GDP composition', () => {
  it('one release: mu = D / sigma and the epsilon it was calibrated for', () => {
    const acc = new PrivacyAccountant();
    const r = release('a', 0.7, 0.3, 'continuous-gaussian');
    acc.record(r);
    const gdp = acc.composition().gdp!;
    expect(gdp.mu).toBeCloseTo(r.sensitivity / r.sigma, 14);
    expect(gdp.delta).toBe(1e-6);
    expect(Math.abs(gdp.epsilon - 0.7) / 0.7).toBeLessThan(1e-8);
  });

  it('k releases: the epsilon of the closed form at mu = root sum of squares, and tight', () => {
    const acc = new PrivacyAccountant();
    const rng = testRandom(11);
    let sumSquares = 0;
    for (let i = 0; i < 25; i++) {
      const r = release(`r${i}`, 0.05 + rng() * 0.5, 0.1 + rng() * 2, 'continuous-gaussian');
      acc.record(r);
      sumSquares += (r.sensitivity / r.sigma) ** 2;
    }
    const state = acc.composition();
    const gdp = state.gdp!;
    expect(gdp.mu).toBeCloseTo(Math.sqrt(sumSquares), 12);
    // At the basic delta (the sum of the releases' deltas), as the other accounts are stated.
    expect(gdp.delta).toBe(state.basic.delta);
    expect(gdpDelta(gdp.mu, gdp.epsilon)).toBeLessThanOrEqual(gdp.delta * (1 + 1e-6));
    expect(gdpDelta(gdp.mu, gdp.epsilon * 0.999)).toBeGreaterThan(gdp.delta);
    // The exact account is the tightest of the three here.
    expect(gdp.epsilon).toBeLessThan(state.rdp.epsilon);
    expect(gdp.epsilon).toBeLessThan(state.basic.epsilon);
  });

  it('never loses to the Renyi account, over 200 random logs', () => {
    const rng = testRandom(3);
    for (let trial = 0; trial < 200; trial++) {
      const acc = new PrivacyAccountant();
      const k = 1 + Math.floor(rng() * 40);
      for (let i = 0; i < k; i++) {
        acc.record(release(`r${i}`, 0.01 + rng() * 3, 0.01 + rng() * 5, 'continuous-gaussian'));
      }
      const { gdp, rdp } = acc.composition();
      expect(gdp!.epsilon).toBeLessThanOrEqual(rdp.epsilon);
    }
  });

  it('does not apply to a discrete release, nor to a log that did not record its mechanism', () => {
    const mixed = new PrivacyAccountant();
    mixed.record(release('a', 0.5, 1, 'continuous-gaussian'));
    mixed.record(release('b', 0.5, 1, 'discrete-gaussian'));
    expect(mixed.composition().gdp).toBeNull();
    expect(mixed.composition(1).gdp).not.toBeNull();
    const older = new PrivacyAccountant();
    older.record(release('a', 0.5, 1));
    expect(older.composition().gdp).toBeNull();
    // The mechanism survives a save and restore, so the account replays the same.
    const restored = PrivacyAccountant.fromJSON(JSON.stringify(mixed.toJSON()));
    expect(restored.composition()).toEqual(mixed.composition());
    expect(() => mixed.record({ ...release('c', 0.5, 1), mechanism: 'laplace' as never })).toThrow(
      /mechanism = "laplace" is invalid/,
    );
  });

  it("a budget admits more continuous releases under 'gdp' (and 'best') than under 'rdp'", () => {
    const admitted = (composition: 'rdp' | 'gdp' | 'best', mechanism: Mechanism) => {
      const budget = new PrivacyBudget({ epsilon: 2, delta: 1e-5 }, { composition });
      let count = 0;
      for (;;) {
        const r = release(`r${count}`, 0.2, 1, mechanism, 1e-5 / 1000);
        if (budget.wouldExceed(r)) return count;
        budget.record(r);
        count += 1;
      }
    };
    const gdp = admitted('gdp', 'continuous-gaussian');
    const rdp = admitted('rdp', 'continuous-gaussian');
    expect(gdp).toBeGreaterThan(rdp);
    expect(admitted('best', 'continuous-gaussian')).toBe(gdp);
    // Discrete releases fall back to the Renyi account.
    expect(admitted('gdp', 'discrete-gaussian')).toBe(admitted('rdp', 'discrete-gaussian'));
  });

  it('deletion capacity: more deletions under GDP for continuous releases than discrete', () => {
    const query = {
      sensitivity: (m: number) => ({ kind: 'user' as const, value: 0.01 * m, description: 'm' }),
      epsilon: 0.5,
      delta: 1e-8,
      budget: { epsilon: 5, delta: 1e-5 },
    };
    const continuous = deletionCapacity({ ...query, mechanism: 'continuous-gaussian' });
    const discrete = deletionCapacity({ ...query, mechanism: 'discrete-gaussian' });
    expect(continuous.limitedBy).toBe('budget');
    expect(continuous.deletions).toBeGreaterThan(discrete.deletions);
    expect(() => deletionCapacity({ ...query, mechanism: 'laplace' as never })).toThrow(
      /mechanism = "laplace"/,
    );
  });

  it('certificates carry the GDP account; a log that relabels the mechanism fails to verify', () => {
    const weights = Float32Array.from({ length: 500 }, (_, i) => Math.cos(i));
    const accountant = new PrivacyAccountant();
    const r = certifiedRelease({
      weights,
      sensitivity: { kind: 'user', value: 0.2, description: 'test bound' },
      epsilon: 1,
      delta: 1e-5,
      accountant,
      requestIds: ['req-1'],
      noise: seededNoiseSource(5),
      backend: 'cpu',
      mechanism: 'continuous-gaussian',
    });
    expect(r.certificate.composition.gdp?.mu).toBeCloseTo(0.2 / r.sigma, 14);
    const state = accountant.toJSON();
    expect(verifyCertificate(r.certificate, r.weights, state, { allowSeededNoise: true })).toEqual(
      [],
    );
    const relabelled = structuredClone(state);
    relabelled.releases[0]!.mechanism = 'discrete-gaussian';
    expect(
      verifyCertificate(r.certificate, r.weights, relabelled, { allowSeededNoise: true }).join(
        '\n',
      ),
    ).toMatch(/differs from the certificate/);
    // A certificate written before the GDP account existed (no gdp key) still verifies.
    const older = structuredClone(r.certificate) as { composition: { gdp?: unknown } };
    delete older.composition.gdp;
    expect(verifyCertificate(older as never, r.weights, state, { allowSeededNoise: true })).toEqual(
      [],
    );
  });
});
