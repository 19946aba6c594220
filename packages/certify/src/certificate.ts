// A certificate for one release: enough to check, from the released weights and the
// accountant's log, that the noise met (epsilon, delta) and what the releases have cost; bound
// to the run it came from (model, trajectory and data digests) and to the deleted samples (a
// salted commitment to their ids), with every input of the sensitivity labelled by where it
// came from. auditCertificate says which of its claims a verifier could recompute and which it
// takes on trust.
import { createHash, randomBytes } from 'node:crypto';
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
import { discreteGaussianEpsilon, type GridCalibration } from './grid-mechanism.js';
import type { NoiseSource, NoiseSourceKind } from './noise.js';
import {
  type PaperSensitivityParams,
  type SensitivityModel,
  sensitivityValue,
} from './sensitivity.js';
import { requireNonEmptyString } from './validate.js';

export const SECOND_ORDER_NOTE =
  'The sensitivity bound is derived for the first-order approximator; that it also covers the error of the second-order (recollection) update is observed empirically, not proven.';

/** Where an input of the sensitivity bound comes from. */
export type Provenance = 'configured' | 'counted' | 'measured upper bound' | 'assumed';

/** The run a release belongs to: the digests @lethe/recollect computes for it. */
export interface RunBinding {
  /** The model's digest (architecture and layout). */
  readonly modelDigest: string;
  /** The trajectory's digest (model, data, config, initial weights, every batch and step size). */
  readonly trajectoryDigest: string;
  /** The training data's digest. */
  readonly dataDigest: string;
}

export interface Certificate {
  format: 'lethe-unlearning-certificate';
  version: 2;
  release: { index: number; mode: ReleaseMode; requestIds: string[] };
  epsilon: number;
  delta: number;
  sensitivity: {
    model: SensitivityModel;
    /** The bound the model gives. */
    value: number;
    /** What the noise is calibrated for: value, plus gamma sqrt(d) for the grid mechanism. */
    released: number;
    /** Each input of the bound and where it comes from. */
    provenance: Record<string, Provenance>;
  };
  sigma: number;
  noise: {
    source: NoiseSourceKind;
    algorithm: string;
    mechanism: 'discrete-gaussian' | 'continuous-gaussian';
    grid?: {
      gamma: number;
      weightBound: number;
      weightBoundProvenance: 'declared' | 'observed';
      /** sigma over the analytic continuous-Gaussian sigma at the unsnapped sensitivity. */
      loss: number;
    };
  };
  /** The run the weights were unlearned from; absent when the issuer did not bind one. */
  run?: RunBinding;
  /** How many samples the released weights have forgotten, and a salted commitment to which. */
  deletions?: { count: number; commitment: string };
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
  /** The grid of the discrete mechanism, as calibrateGrid returned it. */
  grid?: GridCalibration;
  run?: RunBinding;
  /** Every sample the released weights have forgotten (all requests so far). */
  deletedIds?: readonly number[];
  /** Salt of the ids' commitment (hex); required with deletedIds; keep it private. */
  salt?: string;
  /** Provenance of the paper bound's inputs; defaults below (see paperProvenance). */
  provenance?: Partial<Record<keyof PaperSensitivityParams, Provenance>>;
}

/** A fresh salt for the deleted ids' commitment (32 random bytes, hex). */
export function newCommitmentSalt(): string {
  return randomBytes(32).toString('hex');
}

/** SHA-256 of the salt and the sorted ids: reveals nothing of the ids without the salt. */
export function deletedIdsCommitment(ids: readonly number[], salt: string): string {
  const sorted = Float64Array.from(ids).sort();
  return createHash('sha256')
    .update(`${salt}:${Array.from(sorted).join(',')}`)
    .digest('hex');
}

/**
 * The paper bound's inputs labelled: the training configuration's as 'configured', m as
 * 'counted' when the deleted ids are given, rho as the issuer says. rho must be a certified
 * upper bound or rho = 1 (the authors' assumption, labelled 'assumed'): power iteration
 * estimates the spectral norm from below and certifies nothing.
 */
function paperProvenance(
  where: string,
  model: SensitivityModel,
  given: CertificateInput['provenance'],
  counted: boolean,
): Record<string, Provenance> {
  if (model.kind === 'user') return { value: 'configured' };
  const out: Record<string, Provenance> = {};
  for (const key of ['eta', 'q', 'C', 'T', 'B', 'batchSize'] as const) {
    out[key] = given?.[key] ?? 'configured';
  }
  out.m = given?.m ?? (counted ? 'counted' : 'configured');
  const rho = given?.rho ?? (model.rho === 1 ? 'assumed' : undefined);
  if (rho !== 'measured upper bound' && !(rho === 'assumed' && model.rho === 1)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: rho = ${model.rho} with provenance ${JSON.stringify(rho)}: a certificate takes rho only as a certified upper bound on ||I - eta_t H_t|| (provenance 'measured upper bound') or as rho = 1, the paper authors' assumption. A power-iteration estimate is a lower bound: certify with rho = 1, or derive an upper bound.`,
    );
  }
  out.rho = rho;
  return out;
}

function sameRelease(a: ReleaseRecord, b: ReleaseRecord): boolean {
  return (
    a.index === b.index &&
    a.mode === b.mode &&
    a.sigma === b.sigma &&
    a.sensitivity === b.sensitivity &&
    a.epsilon === b.epsilon &&
    a.delta === b.delta &&
    // A log from before mechanisms were recorded has none; one that has must agree.
    (a.mechanism === undefined || b.mechanism === undefined || a.mechanism === b.mechanism) &&
    a.requestIds.length === b.requestIds.length &&
    a.requestIds.every((id, i) => id === b.requestIds[i])
  );
}

/**
 * The checks of a certificate's binding and provenance that can refuse it: run before a release
 * is recorded, so that a refused certificate spends no budget.
 */
export function checkBinding(
  where: string,
  input: Pick<CertificateInput, 'sensitivityModel' | 'deletedIds' | 'salt' | 'provenance'>,
): { provenance: Record<string, Provenance>; deletions?: { count: number; commitment: string } } {
  const ids = input.deletedIds;
  if (ids !== undefined) {
    if (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id) && id >= 0)) {
      throw new LetheError(
        'invalid-argument',
        `${where}: deletedIds must be an array of sample ids (non-negative integers).`,
      );
    }
    if (new Set(ids).size !== ids.length) {
      throw new LetheError('invalid-argument', `${where}: deletedIds lists a sample twice.`);
    }
    if (typeof input.salt !== 'string' || !/^[0-9a-f]{32,}$/.test(input.salt)) {
      throw new LetheError(
        'invalid-argument',
        `${where}: deletedIds needs salt, at least 16 random bytes as hex (newCommitmentSalt()).`,
      );
    }
    if (input.sensitivityModel.kind === 'paper' && input.sensitivityModel.m < ids.length) {
      throw new LetheError(
        'invalid-argument',
        `${where}: the bound is for m = ${input.sensitivityModel.m} deletions, but the weights have forgotten ${ids.length}; compute the bound with m >= ${ids.length}.`,
      );
    }
  }
  const provenance = paperProvenance(
    where,
    input.sensitivityModel,
    input.provenance,
    ids !== undefined,
  );
  return ids === undefined
    ? { provenance }
    : {
        provenance,
        deletions: { count: ids.length, commitment: deletedIdsCommitment(ids, input.salt!) },
      };
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
  const { grid } = input;
  const released = grid ? value + grid.gamma * Math.sqrt(input.weights.length) : value;
  if (released !== release.sensitivity) {
    throw new LetheError(
      'mismatch',
      `${where}: the sensitivity model gives ${value}${grid ? ` (${released} on the grid of ${grid.gamma})` : ''}, but the release was calibrated at ${release.sensitivity}; pass the model (and grid) used for calibration.`,
    );
  }
  const { provenance, deletions } = checkBinding(where, input);
  if (input.approximationOrder !== 1 && input.approximationOrder !== 2) {
    throw new LetheError(
      'invalid-argument',
      `${where}: approximationOrder = ${input.approximationOrder} is invalid; expected 1 or 2.`,
    );
  }
  requireNonEmptyString(where, 'backend', input.backend);
  return {
    format: 'lethe-unlearning-certificate',
    version: 2,
    release: { index: release.index, mode: release.mode, requestIds: [...release.requestIds] },
    epsilon: release.epsilon,
    delta: release.delta,
    sensitivity: { model: structuredClone(input.sensitivityModel), value, released, provenance },
    sigma: release.sigma,
    noise: {
      source: input.noise.kind,
      algorithm: input.noise.algorithm,
      mechanism: grid ? 'discrete-gaussian' : 'continuous-gaussian',
      ...(grid
        ? {
            grid: {
              gamma: grid.gamma,
              weightBound: grid.weightBound.value,
              weightBoundProvenance: grid.weightBound.provenance,
              loss: grid.loss,
            },
          }
        : {}),
    },
    ...(input.run === undefined ? {} : { run: { ...input.run } }),
    ...(deletions === undefined ? {} : { deletions }),
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

/** What a verifier holds besides the certificate. */
export interface CertificateEvidence {
  /** The published weights. */
  readonly weights: Float32Array;
  /** The accountant's saved log (toJSON()). */
  readonly accountantState: AccountantState | string;
  /** The run's digests, when the verifier has the run (or its published digests). */
  readonly run?: RunBinding;
  /** The deleted ids and the commitment's salt, when the issuer disclosed them. */
  readonly deletedIds?: readonly number[];
  readonly salt?: string;
  /** Accept noise from a seeded source (reproducible experiments; not private). */
  readonly allowSeededNoise?: boolean;
}

export interface CertificateAudit {
  /** Empty when every claim the verifier could recompute holds. */
  readonly problems: string[];
  /** Claims recomputed from the evidence. */
  readonly checked: string[];
  /** Claims the evidence cannot check: taken on the issuer's word. */
  readonly trusted: string[];
}

/**
 * Checks a certificate against what the verifier holds: the weights' digest, that sigma meets
 * (epsilon, delta) at the released sensitivity (through the mechanism's own conversion), the
 * bound recomputed from its inputs, the grid's inflation, the release in the accountant's log
 * and the composition state, the noise source; with the run, its digests; with the ids and
 * salt, the commitment and that m covers them. Lists what it could not check.
 */
export function auditCertificate(
  cert: Certificate,
  evidence: CertificateEvidence,
): CertificateAudit {
  const problems: string[] = [];
  const checked: string[] = [];
  const trusted: string[] = [];
  if (cert?.format !== 'lethe-unlearning-certificate' || cert.version !== 2) {
    const v1 = cert?.format === 'lethe-unlearning-certificate' && (cert.version as number) === 1;
    return {
      problems: [
        v1
          ? 'certificate version 1 carries no run binding, ids commitment or provenance; reissue the release with this version of @lethe/certify'
          : `unknown certificate format ${JSON.stringify(cert?.format)} version ${JSON.stringify(cert?.version)}`,
      ],
      checked,
      trusted,
    };
  }
  const { weights } = evidence;

  checked.push('weights: length and SHA-256');
  if (weights.length !== cert.weights.length) {
    problems.push(
      `weights have ${weights.length} entries; the certificate says ${cert.weights.length}`,
    );
  }
  if (weightsSha256(weights) !== cert.weights.sha256) {
    problems.push('SHA-256 of the weights does not match the certificate');
  }

  checked.push('sensitivity: the bound recomputed from its inputs');
  try {
    const value = sensitivityValue(cert.sensitivity.model);
    if (value !== cert.sensitivity.value) {
      problems.push(
        `sensitivity model gives ${value}, the certificate states ${cert.sensitivity.value}`,
      );
    }
  } catch (error) {
    problems.push(`sensitivity model is invalid: ${(error as Error).message}`);
  }
  const provenance = cert.sensitivity.provenance ?? {};
  const labelled = Object.entries(provenance).map(([k, p]) => `${k} (${p})`);
  trusted.push(`sensitivity inputs: ${labelled.join(', ')}`);
  if (cert.sensitivity.model.kind === 'paper') {
    const rhoOk =
      provenance.rho === 'measured upper bound' ||
      (provenance.rho === 'assumed' && cert.sensitivity.model.rho === 1);
    if (!rhoOk) {
      problems.push(
        `rho = ${cert.sensitivity.model.rho} is labelled ${JSON.stringify(provenance.rho)}: only a certified upper bound or rho = 1 (assumed) certifies`,
      );
    }
  }

  const grid = cert.noise?.grid;
  if (cert.noise?.mechanism === 'discrete-gaussian') {
    checked.push(
      'grid: released sensitivity = bound + gamma sqrt(d), gamma a power of two, weights on the grid',
    );
    if (!grid || !Number.isInteger(Math.log2(grid.gamma))) {
      problems.push('a discrete-Gaussian release needs a power-of-two grid step');
    } else {
      const released = cert.sensitivity.value + grid.gamma * Math.sqrt(cert.weights.length);
      if (released !== cert.sensitivity.released) {
        problems.push(
          `released sensitivity ${cert.sensitivity.released} is not the bound plus gamma sqrt(d) = ${released}`,
        );
      }
      const off = weights.findIndex((w) => !Number.isInteger(w / grid.gamma));
      if (off >= 0)
        problems.push(`weights[${off}] = ${weights[off]} is not on the grid of ${grid.gamma}`);
      if (grid.weightBoundProvenance === 'observed') {
        trusted.push(
          `the grid was sized from the weights' own maximum (${grid.weightBound}), not a declared public bound`,
        );
      }
    }
  } else if (cert.noise?.mechanism === 'continuous-gaussian') {
    if (cert.sensitivity.released !== cert.sensitivity.value) {
      problems.push('a continuous-Gaussian release is calibrated at the bound itself');
    }
    trusted.push(
      'continuous Gaussian noise rounded to float32: exposed to floating-point attacks (Mironov 2012)',
    );
  } else {
    problems.push(`noise mechanism ${JSON.stringify(cert.noise?.mechanism)} is unknown`);
  }

  checked.push('privacy: sigma meets (epsilon, delta) at the released sensitivity');
  try {
    if (!(cert.delta > 0 && cert.delta < 1))
      problems.push(`delta = ${cert.delta} is not in (0, 1)`);
    if (cert.noise?.mechanism === 'discrete-gaussian') {
      const achieved = discreteGaussianEpsilon(cert.sigma, cert.sensitivity.released, cert.delta);
      if (!(achieved <= cert.epsilon)) {
        problems.push(
          `sigma = ${cert.sigma} at sensitivity ${cert.sensitivity.released} reaches epsilon = ${achieved} > ${cert.epsilon} (discrete Gaussian, zCDP)`,
        );
      }
    } else {
      const achieved = analyticGaussianDelta({
        epsilon: cert.epsilon,
        sigma: cert.sigma,
        sensitivity: cert.sensitivity.released,
      });
      if (!(achieved <= cert.delta)) {
        problems.push(
          `sigma = ${cert.sigma} at sensitivity ${cert.sensitivity.released} only reaches delta = ${achieved} > ${cert.delta} at epsilon = ${cert.epsilon}`,
        );
      }
    }
  } catch (error) {
    problems.push(`privacy parameters are invalid: ${(error as Error).message}`);
  }

  checked.push("accountant: the release is in the log and the composition is the log's");
  try {
    const accountant = PrivacyAccountant.fromJSON(evidence.accountantState);
    const logged = accountant.releases[cert.release.index];
    const claimed: ReleaseRecord = {
      index: cert.release.index,
      mode: cert.release.mode,
      requestIds: cert.release.requestIds,
      sigma: cert.sigma,
      sensitivity: cert.sensitivity.released,
      epsilon: cert.epsilon,
      delta: cert.delta,
      mechanism: cert.noise.mechanism,
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
      if (!sameJson(replayedComposition(accountant, cert), cert.composition)) {
        problems.push(
          'composition state does not match the accountant log replayed up to this release',
        );
      }
    }
  } catch (error) {
    problems.push(`accountant state cannot be restored: ${(error as Error).message}`);
  }

  if (evidence.run !== undefined) {
    checked.push('run: model, trajectory and data digests');
    if (cert.run === undefined) {
      problems.push('the certificate is bound to no run, so it cannot vouch for this one');
    } else {
      for (const key of ['modelDigest', 'trajectoryDigest', 'dataDigest'] as const) {
        if (cert.run[key] !== evidence.run[key]) {
          problems.push(
            `${key}: the certificate says ${cert.run[key]}, the run has ${evidence.run[key]}`,
          );
        }
      }
    }
  } else {
    trusted.push(
      cert.run === undefined
        ? 'which run the weights come from: the certificate names none'
        : 'that the weights were unlearned from the run the certificate names (no run given to compare)',
    );
  }

  if (evidence.deletedIds !== undefined) {
    checked.push('deletions: the ids match the commitment, and m covers them');
    if (cert.deletions === undefined) {
      problems.push('the certificate commits to no deleted ids');
    } else if (
      deletedIdsCommitment(evidence.deletedIds, evidence.salt ?? '') !== cert.deletions.commitment
    ) {
      problems.push("the deleted ids (with this salt) do not match the certificate's commitment");
    } else if (
      cert.sensitivity.model.kind === 'paper' &&
      cert.sensitivity.model.m < evidence.deletedIds.length
    ) {
      problems.push(
        `the bound is for m = ${cert.sensitivity.model.m} deletions, but ${evidence.deletedIds.length} were made`,
      );
    }
  } else {
    trusted.push(
      cert.deletions === undefined
        ? 'how many samples were deleted: the certificate commits to none'
        : `that the ${cert.deletions.count} committed ids are the deleted samples (ids and salt not disclosed)`,
    );
  }

  if (cert.approximation?.order === 2) {
    if (cert.approximation.note !== SECOND_ORDER_NOTE) {
      problems.push('a second-order release must carry the note that its bound is only empirical');
    }
    trusted.push(
      'that the first-order bound covers the second-order update (observed, not proven)',
    );
  } else if (cert.approximation?.order !== 1) {
    problems.push(`approximation order ${JSON.stringify(cert.approximation?.order)} is not 1 or 2`);
  }
  if (Number.isNaN(Date.parse(cert.timestamp)))
    problems.push(`timestamp ${JSON.stringify(cert.timestamp)} is not a date`);
  checked.push('noise source kind');
  const seededAllowed = evidence.allowSeededNoise === true && cert.noise?.source === 'seeded';
  if (cert.noise?.source !== 'crypto' && !seededAllowed) {
    problems.push(
      `noise came from a ${JSON.stringify(cert.noise?.source)} source; only 'crypto' noise is private (pass allowSeededNoise for reproducible experiments)`,
    );
  }
  trusted.push('that the noise was drawn as stated (source and sampler run by the issuer)');
  return { problems, checked, trusted };
}

/**
 * The problems auditCertificate finds (an empty list means the certificate is valid for what
 * the verifier holds); see auditCertificate for what it takes on trust.
 */
export function verifyCertificate(
  cert: Certificate,
  weights: Float32Array,
  accountantState: AccountantState | string,
  options: Omit<CertificateEvidence, 'weights' | 'accountantState'> = {},
): string[] {
  return auditCertificate(cert, { ...options, weights, accountantState }).problems;
}

/**
 * The composition state replayed from the log, in the shape the certificate was written in:
 * certificates issued before the GDP account existed carry no `gdp` key.
 */
function replayedComposition(
  accountant: PrivacyAccountant,
  cert: { release: { index: number }; composition: CompositionState },
): Partial<CompositionState> {
  const state = accountant.composition(cert.release.index + 1);
  if ('gdp' in cert.composition) return state;
  const { gdp: _omitted, ...older } = state;
  return older;
}
