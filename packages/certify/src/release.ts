// The release stage of the pipeline in one call: calibrate sigma for (epsilon, delta) at the
// sensitivity, check the accountant would accept the release, add the noise, record the release
// and issue its certificate. Nothing is recorded when any step fails, so a caller that catches
// the error can retry with the same request ids.
import { LetheError } from '@lethe/core';
import type { PrivacyAccountant, ReleaseInput, ReleaseMode, ReleaseRecord } from './accountant.js';
import { PrivacyBudget } from './budget.js';
import { type Certificate, createCertificate } from './certificate.js';
import { analyticGaussianSigma } from './gaussian-mechanism.js';
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
  /** The tensor backend that computed the weights, recorded in the certificate. */
  readonly backend: string;
  readonly versions?: Record<string, string>;
  /** 2 when the weights carry the second-order refinement. Default 1. */
  readonly approximationOrder?: 1 | 2;
  readonly timestamp?: Date;
}

export interface CertifiedRelease {
  /** weights + N(0, sigma^2 I): what may be published. */
  readonly weights: Float32Array;
  readonly sigma: number;
  readonly record: ReleaseRecord;
  readonly certificate: Certificate;
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
  const sigma = analyticGaussianSigma({
    epsilon: options.epsilon,
    delta: options.delta,
    sensitivity,
  });
  const input: ReleaseInput = {
    mode: options.mode ?? (options.requestIds.length === 1 ? 'online' : 'batch'),
    requestIds: options.requestIds,
    sigma,
    sensitivity,
    epsilon: options.epsilon,
    delta: options.delta,
  };
  // Validate before drawing noise, so a refused release leaves nothing behind; an over-budget
  // release goes through the budget's own refusal (it flags that a retrain is due).
  if (budget?.wouldExceed(input)) budget.record(input);
  accountant.validate(input);
  const noise = options.noise ?? cryptoNoiseSource();
  const noised = addGaussianNoise(weights, sigma, noise);
  const record = budget ? budget.record(input) : accountant.record(input);
  const certificate = createCertificate({
    accountant,
    release: record,
    sensitivityModel: options.sensitivity,
    weights: noised,
    noise,
    backend: options.backend,
    versions: options.versions ?? {},
    approximationOrder: options.approximationOrder ?? 1,
    ...(options.timestamp === undefined ? {} : { timestamp: options.timestamp }),
  });
  return { weights: noised, sigma, record, certificate };
}
