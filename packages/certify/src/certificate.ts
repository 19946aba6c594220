// A certificate for one release: enough to check, from the released weights and the
// accountant's log alone, that the noise met (epsilon, delta) and what the releases have cost.
import { LetheError } from '@lethe/core';
import {
  type AccountantState,
  PrivacyAccountant,
  type ReleaseMode,
  type ReleaseRecord,
} from './accountant.js';
import type { CompositionState } from './composition.js';
import { weightsSha256 } from './digest.js';
import { analyticGaussianDelta } from './gaussian-mechanism.js';
import type { NoiseSource, NoiseSourceKind } from './noise.js';
import { type SensitivityModel, sensitivityValue } from './sensitivity.js';
import { requireNonEmptyString } from './validate.js';

export const SECOND_ORDER_NOTE =
  'The sensitivity bound is derived for the first-order approximator; that it also covers the error of the second-order (recollection) update is observed empirically, not proven.';

export interface Certificate {
  format: 'lethe-unlearning-certificate';
  version: 1;
  release: { index: number; mode: ReleaseMode; requestIds: string[] };
  epsilon: number;
  delta: number;
  sensitivity: { model: SensitivityModel; value: number };
  sigma: number;
  noise: { source: NoiseSourceKind; algorithm: string };
  /** Composed cost of all releases up to and including this one. */
  composition: CompositionState;
  weights: { sha256: string; length: number; dtype: 'float32'; byteOrder: 'little-endian' };
  backend: string;
  versions: Record<string, string>;
  approximation: { order: 1 | 2; note?: string };
  /** ISO 8601. */
  timestamp: string;
}

export interface CertificateInput {
  accountant: PrivacyAccountant;
  /** The recorded release (as returned by record) this certificate is for. */
  release: ReleaseRecord;
  sensitivityModel: SensitivityModel;
  /** The released (noised) weights. */
  weights: Float32Array;
  noise: Pick<NoiseSource, 'kind' | 'algorithm'>;
  backend: string;
  versions: Record<string, string>;
  approximationOrder: 1 | 2;
  timestamp?: Date;
}

function sameRelease(a: ReleaseRecord, b: ReleaseRecord): boolean {
  return (
    a.index === b.index &&
    a.mode === b.mode &&
    a.sigma === b.sigma &&
    a.sensitivity === b.sensitivity &&
    a.epsilon === b.epsilon &&
    a.delta === b.delta &&
    a.requestIds.length === b.requestIds.length &&
    a.requestIds.every((id, i) => id === b.requestIds[i])
  );
}

export function createCertificate(input: CertificateInput): Certificate {
  const where = 'createCertificate';
  const { accountant, release } = input;
  const logged = accountant.releases[release.index];
  if (logged === undefined || !sameRelease(logged, release)) {
    throw new LetheError(
      'mismatch',
      `${where}: release ${release.index} is not in the accountant's log as given; record it first, and pass the record that accountant returned.`,
    );
  }
  const value = sensitivityValue(input.sensitivityModel);
  if (value !== release.sensitivity) {
    throw new LetheError(
      'mismatch',
      `${where}: the sensitivity model gives ${value}, but the release was calibrated at ${release.sensitivity}; pass the model used for calibration.`,
    );
  }
  if (input.approximationOrder !== 1 && input.approximationOrder !== 2) {
    throw new LetheError(
      'invalid-argument',
      `${where}: approximationOrder = ${input.approximationOrder} is invalid; expected 1 or 2.`,
    );
  }
  requireNonEmptyString(where, 'backend', input.backend);
  return {
    format: 'lethe-unlearning-certificate',
    version: 1,
    release: { index: release.index, mode: release.mode, requestIds: [...release.requestIds] },
    epsilon: release.epsilon,
    delta: release.delta,
    sensitivity: { model: structuredClone(input.sensitivityModel), value },
    sigma: release.sigma,
    noise: { source: input.noise.kind, algorithm: input.noise.algorithm },
    composition: accountant.composition(release.index + 1),
    weights: {
      sha256: weightsSha256(input.weights),
      length: input.weights.length,
      dtype: 'float32',
      byteOrder: 'little-endian',
    },
    backend: input.backend,
    versions: { ...input.versions },
    approximation:
      input.approximationOrder === 2 ? { order: 2, note: SECOND_ORDER_NOTE } : { order: 1 },
    timestamp: (input.timestamp ?? new Date()).toISOString(),
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Checks a certificate against the released weights and the accountant's serialised log: the
 * digest, that sigma meets (epsilon, delta) at the stated sensitivity, that the release is in
 * the log and the composition state is the log's, and that the noise came from a CSPRNG.
 * Returns the problems found; an empty list means the certificate is valid.
 */
export function verifyCertificate(
  cert: Certificate,
  weights: Float32Array,
  accountantState: AccountantState | string,
  options: { allowSeededNoise?: boolean } = {},
): string[] {
  const problems: string[] = [];
  if (cert?.format !== 'lethe-unlearning-certificate' || cert.version !== 1) {
    return [
      `unknown certificate format ${JSON.stringify(cert?.format)} version ${JSON.stringify(cert?.version)}`,
    ];
  }

  if (weights.length !== cert.weights.length) {
    problems.push(
      `weights have ${weights.length} entries; the certificate says ${cert.weights.length}`,
    );
  }
  if (weightsSha256(weights) !== cert.weights.sha256) {
    problems.push('SHA-256 of the weights does not match the certificate');
  }

  let sensitivity = Number.NaN;
  try {
    sensitivity = sensitivityValue(cert.sensitivity.model);
    if (sensitivity !== cert.sensitivity.value) {
      problems.push(
        `sensitivity model gives ${sensitivity}, the certificate states ${cert.sensitivity.value}`,
      );
    }
  } catch (error) {
    problems.push(`sensitivity model is invalid: ${(error as Error).message}`);
  }
  try {
    const achieved = analyticGaussianDelta({
      epsilon: cert.epsilon,
      sigma: cert.sigma,
      sensitivity: cert.sensitivity.value,
    });
    if (!(cert.delta > 0 && cert.delta < 1))
      problems.push(`delta = ${cert.delta} is not in (0, 1)`);
    if (!(achieved <= cert.delta)) {
      problems.push(
        `sigma = ${cert.sigma} at sensitivity ${cert.sensitivity.value} only reaches delta = ${achieved} > ${cert.delta} at epsilon = ${cert.epsilon}`,
      );
    }
  } catch (error) {
    problems.push(`privacy parameters are invalid: ${(error as Error).message}`);
  }

  try {
    const accountant = PrivacyAccountant.fromJSON(accountantState);
    const logged = accountant.releases[cert.release.index];
    const claimed: ReleaseRecord = {
      index: cert.release.index,
      mode: cert.release.mode,
      requestIds: cert.release.requestIds,
      sigma: cert.sigma,
      sensitivity: cert.sensitivity.value,
      epsilon: cert.epsilon,
      delta: cert.delta,
    };
    if (logged === undefined) {
      problems.push(
        `release ${cert.release.index} is not in the accountant's log (${accountant.releases.length} releases)`,
      );
    } else {
      if (!sameRelease(logged, claimed)) {
        problems.push(
          `release ${cert.release.index} in the accountant's log differs from the certificate`,
        );
      }
      if (!sameJson(accountant.composition(cert.release.index + 1), cert.composition)) {
        problems.push(
          'composition state does not match the accountant log replayed up to this release',
        );
      }
    }
  } catch (error) {
    problems.push(`accountant state cannot be restored: ${(error as Error).message}`);
  }

  if (cert.approximation?.order === 2) {
    if (cert.approximation.note !== SECOND_ORDER_NOTE) {
      problems.push('a second-order release must carry the note that its bound is only empirical');
    }
  } else if (cert.approximation?.order !== 1) {
    problems.push(`approximation order ${JSON.stringify(cert.approximation?.order)} is not 1 or 2`);
  }
  if (Number.isNaN(Date.parse(cert.timestamp)))
    problems.push(`timestamp ${JSON.stringify(cert.timestamp)} is not a date`);
  const seededAllowed = options.allowSeededNoise === true && cert.noise?.source === 'seeded';
  if (cert.noise?.source !== 'crypto' && !seededAllowed) {
    problems.push(
      `noise came from a ${JSON.stringify(cert.noise?.source)} source; only 'crypto' noise is private (pass allowSeededNoise for reproducible experiments)`,
    );
  }
  return problems;
}
