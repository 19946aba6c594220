// The release stage of the pipeline in one call: calibrate sigma for (epsilon, delta) at the
// sensitivity, check the accountant would accept the release, add the noise, record the release
// and issue its certificate. Nothing is recorded when any step fails, so a caller that catches
// the error can retry with the same request ids. The default noise is the grid mechanism
// (snapped weights plus exact discrete Gaussian noise), which float32 publishes exactly.
import { LetheError } from '@lethe/core';
import type { PrivacyAccountant, ReleaseInput, ReleaseMode, ReleaseRecord } from './accountant.js';
import { PrivacyBudget } from './budget.js';
import {
  type Certificate,
  type CertificateInput,
  checkBinding,
  createCertificate,
  newCommitmentSalt,
  type RunBinding,
} from './certificate.js';
import { analyticGaussianSigma } from './gaussian-mechanism.js';
import { addGridGaussianNoise, calibrateGrid, type GridCalibration } from './grid-mechanism.js';
import { addGaussianNoise, cryptoNoiseSource, type NoiseSource } from './noise.js';
import { type SensitivityModel, sensitivityValue } from './sensitivity.js';

export interface CertifiedReleaseOptions {
  /** The unlearned weights, before noise (not modified). */
  readonly weights: Float32Array;
  /** The bound on how far these weights can be from retraining's. */
  readonly sensitivity: SensitivityModel;
  readonly epsilon: number;
  readonly delta: number;
  /**
   * Logs the release and composes its cost with the earlier ones. A PrivacyBudget also refuses
   * (BudgetExceededError, nothing recorded) a release that would exceed its limit.
   */
  readonly accountant: PrivacyAccountant | PrivacyBudget;
  /** The deletion requests this release makes public. */
  readonly requestIds: readonly string[];
  /** Default: 'online' for one request, 'batch' for several. */
  readonly mode?: ReleaseMode;
  /** Default: the operating system's CSPRNG (a seeded source is not private). */
  readonly noise?: NoiseSource;
  /**
   * 'discrete-gaussian' (default): weights snapped to a power-of-two grid plus exact discrete
   * Gaussian noise, published exactly in float32, so the floating-point attacks on Gaussian
   * noise (Mironov 2012) do not apply; sigma is calibrated for the snapped sensitivity through
   * zCDP (a few percent more noise). 'continuous-gaussian': Box-Muller in doubles rounded to
   * float32, the textbook mechanism, whose low-order bits can leak: for experiments only.
   */
  readonly mechanism?: ReleaseMechanism;
  /**
   * A public bound on every |w_i|, which sizes the grid (discrete mechanism). Default: the
   * weights' own maximum rounded up to a power of two, recorded as 'observed' in the
   * certificate, since a grid chosen from the data is itself a (coarse) function of it.
   */
  readonly weightBound?: number;
  /** The tensor backend that computed the weights, recorded in the certificate. */
  readonly backend: string;
  readonly versions?: Record<string, string>;
  /** 2 when the weights carry the second-order refinement. Default 1. */
  readonly approximationOrder?: 1 | 2;
  /** The run the weights were unlearned from (its digests), recorded in the certificate. */
  readonly run?: RunBinding;
  /**
   * Every sample the weights have forgotten (all requests so far): the certificate commits to
   * them (salted SHA-256; the salt is returned, not published) and checks m covers them.
   */
  readonly deletedIds?: readonly number[];
  /** Where the paper bound's inputs come from; rho must be 'measured upper bound' unless 1. */
  readonly provenance?: CertificateInput['provenance'];
  readonly timestamp?: Date;
}

export type ReleaseMechanism = 'discrete-gaussian' | 'continuous-gaussian';

export interface CertifiedRelease {
  /** The noised weights: what may be published. */
  readonly weights: Float32Array;
  readonly sigma: number;
  /** The grid of the discrete mechanism (absent for 'continuous-gaussian'). */
  readonly grid?: GridCalibration;
  readonly record: ReleaseRecord;
  readonly certificate: Certificate;
  /** The salt of the certificate's commitment to the deleted ids: keep it private. */
  readonly salt?: string;
}

/** Noises unlearned weights for an (epsilon, delta) certificate and records the release. */
export function certifiedRelease(options: CertifiedReleaseOptions): CertifiedRelease {
  const where = 'certifiedRelease';
  const { weights } = options;
  const budget = options.accountant instanceof PrivacyBudget ? options.accountant : undefined;
  const accountant = budget?.accountant ?? (options.accountant as PrivacyAccountant);
  for (let i = 0; i < weights.length; i++) {
    if (!Number.isFinite(weights[i]!)) {
      throw new LetheError(
        'non-finite',
        `${where}: weights[${i}] is ${weights[i]}; release only finite weights (check the unlearning step that produced them).`,
      );
    }
  }
  const sensitivity = sensitivityValue(options.sensitivity);
  if (!Number.isFinite(sensitivity)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: the sensitivity model gives ${sensitivity}, so no finite noise certifies the release; use a tighter bound or retrain.`,
    );
  }
  if (sensitivity === 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: the sensitivity model gives 0, so there is no noise to calibrate and no release for the accountant to record; check the bound's inputs (m = 0 and q = 1 give 0), or publish without a certified release.`,
    );
  }
  // The certificate's own refusals (rho's provenance, m against the deleted ids) come first:
  // nothing may be recorded for a release that cannot be certified.
  const salt = options.deletedIds === undefined ? undefined : newCommitmentSalt();
  checkBinding(where, {
    sensitivityModel: options.sensitivity,
    ...(options.deletedIds === undefined ? {} : { deletedIds: options.deletedIds, salt }),
    ...(options.provenance === undefined ? {} : { provenance: options.provenance }),
  });
  const mechanism = options.mechanism ?? 'discrete-gaussian';
  if (mechanism !== 'discrete-gaussian' && mechanism !== 'continuous-gaussian') {
    throw new LetheError(
      'invalid-argument',
      `${where}: mechanism = ${JSON.stringify(mechanism)}; use 'discrete-gaussian' (the default) or 'continuous-gaussian'.`,
    );
  }
  const query = { epsilon: options.epsilon, delta: options.delta, sensitivity };
  const grid =
    mechanism === 'discrete-gaussian'
      ? calibrateGrid({
          ...query,
          weights,
          ...(options.weightBound === undefined ? {} : { weightBound: options.weightBound }),
        })
      : undefined;
  // The grid mechanism's noise is calibrated for the snapped sensitivity Delta + gamma sqrt(d).
  const sigma = grid?.sigma ?? analyticGaussianSigma(query);
  const input: ReleaseInput = {
    mode: options.mode ?? (options.requestIds.length === 1 ? 'online' : 'batch'),
    requestIds: options.requestIds,
    sigma,
    sensitivity: grid?.sensitivity ?? sensitivity,
    epsilon: options.epsilon,
    delta: options.delta,
    mechanism,
  };
  // Validate before drawing noise, so a refused release leaves nothing behind; an over-budget
  // release goes through the budget's own refusal (it flags that a retrain is due).
  if (budget?.wouldExceed(input)) budget.record(input);
  accountant.validate(input);
  const noise = options.noise ?? cryptoNoiseSource();
  const noised = grid
    ? addGridGaussianNoise(weights, grid, noise)
    : addGaussianNoise(weights, sigma, noise);
  // A sigma near float32's range (a vacuous bound, e.g. 1e53) would publish Infinity.
  const overflow = noised.findIndex((v) => !Number.isFinite(v));
  if (overflow >= 0) {
    throw new LetheError(
      'non-finite',
      `${where}: noise of sigma = ${sigma} overflows float32 (weights[${overflow}] would be ${noised[overflow]}): a sensitivity of ${sensitivity} certifies nothing a model can carry; use a tighter bound, repair or retrain.`,
    );
  }
  const record = budget ? budget.record(input) : accountant.record(input);
  const certificate = createCertificate({
    accountant,
    release: record,
    sensitivityModel: options.sensitivity,
    weights: noised,
    noise,
    ...(grid === undefined ? {} : { grid }),
    ...(options.run === undefined ? {} : { run: options.run }),
    ...(options.deletedIds === undefined ? {} : { deletedIds: options.deletedIds, salt }),
    ...(options.provenance === undefined ? {} : { provenance: options.provenance }),
    backend: options.backend,
    versions: options.versions ?? {},
    approximationOrder: options.approximationOrder ?? 1,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });
  return {
    weights: noised,
    sigma,
    ...(grid === undefined ? {} : { grid }),
    record,
    certificate,
    ...(salt === undefined ? {} : { salt }),
  };
}
