import { describe, expect, it } from 'vitest';
import {
  addGaussianNoise,
  analyticGaussianSigma,
  type Certificate,
  createCertificate,
  cryptoNoiseSource,
  type NoiseSource,
  type PaperSensitivityModel,
  PrivacyAccountant,
  SECOND_ORDER_NOTE,
  seededNoiseSource,
  sensitivityValue,
  verifyCertificate,
  weightsSha256,
} from '../src/index.js';

const model: PaperSensitivityModel = {
  kind: 'paper',
  eta: 0.05,
  q: 0.995,
  C: 5,
  rho: 0.998,
  T: 500,
  B: 32,
  batchSize: 32,
  m: 1,
};

function releaseOne(
  accountant: PrivacyAccountant,
  requestIds: string[],
  source: NoiseSource,
  approximationOrder: 1 | 2 = 1,
) {
  const sensitivityModel = { ...model, m: accountant.releases.length + requestIds.length };
  const sensitivity = sensitivityValue(sensitivityModel);
  const sigma = analyticGaussianSigma({ epsilon: 1, delta: 1e-6, sensitivity });
  const weights = addGaussianNoise(
    Float32Array.from({ length: 50 }, (_, i) => Math.sin(i)),
    sigma,
    source,
  );
  const release = accountant.record({
    mode: requestIds.length === 1 ? 'online' : 'batch',
    requestIds,
    epsilon: 1,
    delta: 1e-6,
    sensitivity,
    sigma,
  });
  const cert = createCertificate({
    accountant,
    release,
    sensitivityModel,
    weights,
    noise: source,
    backend: 'tfjs-wasm',
    versions: { '@lethe/certify': '0.1.0', node: process.version },
    approximationOrder,
    timestamp: new Date('2026-01-02T03:04:05Z'),
    // The fixture's rho stands for a certified upper bound (a measured estimate would not do).
    provenance: { rho: 'measured upper bound' },
  });
  return { cert, weights };
}

const roundTrip = <T>(x: T): T => JSON.parse(JSON.stringify(x));

describe('weightsSha256', () => {
  it('hashes float32 values as little-endian bytes', () => {
    // sha256 of struct.pack('<3f', 1.0, -2.5, 0.1), computed with Python's hashlib.
    expect(weightsSha256(Float32Array.of(1, -2.5, 0.1))).toBe(
      '2f9cc761bc2594fa578868daeedc59b0fc115513fae3e5dc09c4e86e50b8aaf6',
    );
    const view = new Float32Array(new Float32Array([9, 1, -2.5, 0.1]).buffer, 4, 3);
    expect(weightsSha256(view)).toBe(weightsSha256(Float32Array.of(1, -2.5, 0.1)));
  });
});

describe('certificates', () => {
  it('records everything a verifier needs, and verifies after a JSON round trip', () => {
    const accountant = new PrivacyAccountant();
    releaseOne(accountant, ['u1'], cryptoNoiseSource());
    const { cert, weights } = releaseOne(accountant, ['u2', 'u3'], cryptoNoiseSource());
    expect(cert).toMatchObject({
      release: { index: 1, mode: 'batch', requestIds: ['u2', 'u3'] },
      epsilon: 1,
      delta: 1e-6,
      sensitivity: { model: { kind: 'paper', m: 3 } },
      noise: { source: 'crypto' },
      composition: { releases: 2, basic: { epsilon: 2, delta: 2e-6 } },
      weights: { length: 50, dtype: 'float32', byteOrder: 'little-endian' },
      backend: 'tfjs-wasm',
      approximation: { order: 1 },
      timestamp: '2026-01-02T03:04:05.000Z',
    });
    expect(cert.approximation.note).toBeUndefined();
    expect(verifyCertificate(roundTrip(cert), weights, roundTrip(accountant.toJSON()))).toEqual([]);
    // A later release does not invalidate an earlier certificate.
    releaseOne(accountant, ['u4'], cryptoNoiseSource());
    expect(verifyCertificate(cert, weights, JSON.stringify(accountant))).toEqual([]);
  });

  it('catches altered weights', () => {
    const accountant = new PrivacyAccountant();
    const { cert, weights } = releaseOne(accountant, ['u1'], cryptoNoiseSource());
    const altered = weights.slice();
    altered[7] = altered[7]! + 1e-6;
    expect(verifyCertificate(cert, altered, accountant.toJSON())).toEqual([
      'SHA-256 of the weights does not match the certificate',
    ]);
    expect(verifyCertificate(cert, weights.subarray(1), accountant.toJSON())).toContain(
      'weights have 49 entries; the certificate says 50',
    );
  });

  it('catches a sigma that does not meet (epsilon, delta), and a log that disagrees', () => {
    const accountant = new PrivacyAccountant();
    const { cert, weights } = releaseOne(accountant, ['u1'], cryptoNoiseSource());
    const forged: Certificate = { ...cert, sigma: cert.sigma * 0.9 };
    const problems = verifyCertificate(forged, weights, accountant.toJSON());
    expect(problems.some((p) => /only reaches delta = .* > 0.000001/.test(p))).toBe(true);
    expect(problems).toContain("release 0 in the accountant's log differs from the certificate");
  });

  it('catches a forged composition state and a release missing from the log', () => {
    const accountant = new PrivacyAccountant();
    const { cert, weights } = releaseOne(accountant, ['u1'], cryptoNoiseSource());
    const forged = roundTrip(cert);
    forged.composition.basic.epsilon = 0.5;
    expect(verifyCertificate(forged, weights, accountant.toJSON())).toEqual([
      'composition state does not match the accountant log replayed up to this release',
    ]);
    expect(verifyCertificate(cert, weights, new PrivacyAccountant().toJSON())).toEqual([
      "release 0 is not in the accountant's log (0 releases)",
    ]);
    expect(verifyCertificate(cert, weights, '{"format":"nope"}')[0]).toMatch(/cannot be restored/);
  });

  it('catches a sensitivity value that the model does not give', () => {
    const accountant = new PrivacyAccountant();
    const { cert, weights } = releaseOne(accountant, ['u1'], cryptoNoiseSource());
    const forged = roundTrip(cert);
    (forged.sensitivity.model as PaperSensitivityModel).rho = 0.9;
    expect(verifyCertificate(forged, weights, accountant.toJSON())[0]).toMatch(
      /sensitivity model gives .* the certificate states/,
    );
  });

  it('labels second-order releases and insists on the note', () => {
    const accountant = new PrivacyAccountant();
    const { cert, weights } = releaseOne(accountant, ['u1'], cryptoNoiseSource(), 2);
    expect(cert.approximation).toEqual({ order: 2, note: SECOND_ORDER_NOTE });
    expect(verifyCertificate(cert, weights, accountant.toJSON())).toEqual([]);
    const stripped = { ...cert, approximation: { order: 2 as const } };
    expect(verifyCertificate(stripped, weights, accountant.toJSON())).toEqual([
      'a second-order release must carry the note that its bound is only empirical',
    ]);
  });

  it('flags seeded noise unless the caller allows it (reproducible experiments)', () => {
    const accountant = new PrivacyAccountant();
    const { cert, weights } = releaseOne(accountant, ['u1'], seededNoiseSource(3));
    expect(cert.noise).toEqual({
      source: 'seeded',
      algorithm: 'xoshiro128** (@lethe/core Rng)',
      mechanism: 'continuous-gaussian',
    });
    expect(verifyCertificate(cert, weights, accountant.toJSON())[0]).toMatch(
      /only 'crypto' noise is private/,
    );
    expect(
      verifyCertificate(cert, weights, accountant.toJSON(), { allowSeededNoise: true }),
    ).toEqual([]);
  });

  it('refuses to certify a release that is not in the log or a model that was not used', () => {
    const accountant = new PrivacyAccountant();
    const other = new PrivacyAccountant();
    const { cert } = releaseOne(other, ['u1'], cryptoNoiseSource());
    const release = other.releases[0]!;
    const input = {
      accountant,
      release,
      sensitivityModel: cert.sensitivity.model,
      weights: new Float32Array(3),
      noise: cryptoNoiseSource(),
      backend: 'cpu',
      versions: {},
      approximationOrder: 1 as const,
    };
    expect(() => createCertificate(input)).toThrow(/not in the accountant's log/);
    expect(() =>
      createCertificate({ ...input, accountant: other, sensitivityModel: { ...model, m: 9 } }),
    ).toThrow(/model gives .* calibrated at/);
  });
});
