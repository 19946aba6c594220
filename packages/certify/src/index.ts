// Public API of @lethe/certify: noise calibration, sensitivity models, spectral radius,
// noise, composition, budgets, deletion capacity and release certificates.
export {
  type AccountantState,
  PrivacyAccountant,
  type ReleaseInput,
  type ReleaseMode,
  type ReleaseRecord,
} from './accountant.js';
export {
  BudgetExceededError,
  type BudgetLimit,
  type BudgetOptions,
  type BudgetState,
  PrivacyBudget,
} from './budget.js';
export { type DeletionCapacity, type DeletionCapacityQuery, deletionCapacity } from './capacity.js';
export {
  auditCertificate,
  type Certificate,
  type CertificateAudit,
  type CertificateEvidence,
  type CertificateInput,
  createCertificate,
  deletedIdsCommitment,
  newCommitmentSalt,
  type Provenance,
  type RunBinding,
  SECOND_ORDER_NOTE,
  verifyCertificate,
} from './certificate.js';
export type {
  CompositionMethod,
  CompositionState,
  FitResult,
  GaussianReleaseCost,
  PrivacySpend,
} from './composition.js';
export { weightsSha256 } from './digest.js';
export {
  analyticGaussianDelta,
  analyticGaussianEpsilon,
  analyticGaussianSigma,
  classicGaussianSigma,
  DELTA_HEADROOM,
  type EpsilonQuery,
  type SigmaQuery,
} from './gaussian-mechanism.js';
export {
  addGridGaussianNoise,
  calibrateGrid,
  discreteGaussianEpsilon,
  type GridCalibration,
} from './grid-mechanism.js';
export { accountantFromLedger, type LedgerEntryWithRelease } from './ledger-replay.js';
export {
  addGaussianNoise,
  cryptoNoiseSource,
  gaussianNoise,
  type NoiseSource,
  type NoiseSourceKind,
  seededNoiseSource,
} from './noise.js';
export { DEFAULT_RDP_ORDERS, rdpToEpsilon } from './rdp.js';
export {
  type CertifiedRelease,
  type CertifiedReleaseOptions,
  certifiedRelease,
  type ReleaseMechanism,
} from './release.js';
export {
  type ReleasedWeights,
  removalBoundFor,
  type SoftmaxRemovalBound,
  type SoftmaxRemovalConstants,
  type SoftmaxRemovalQuery,
  type SoftmaxRun,
  softmaxRemovalBound,
  softmaxRemovalConstants,
  softmaxRetrain,
  softmaxUnlearnedWeights,
} from './removal-bound.js';
export {
  type SoftmaxRhoBound,
  type SoftmaxRhoStep,
  softmaxRegressionRhoBound,
} from './rho-bound.js';
export {
  type PaperSensitivityModel,
  type PaperSensitivityParams,
  paperSensitivity,
  paperStepCounts,
  type SensitivityModel,
  sensitivityValue,
  type UserSensitivityModel,
  withDeletions,
} from './sensitivity.js';
export {
  type SoftmaxStepNorm,
  type SoftmaxStepNormBound,
  type SoftmaxStepNormQuery,
  softmaxRegressionStepNorms,
} from './softmax-step-norm.js';
export {
  type MaxSpectralNormResult,
  maxSpectralNorm,
  type SpectralNormOptions,
  type SpectralNormResult,
  type SymmetricOperator,
  spectralNorm,
} from './spectral-norm.js';
