// Public API of @lethe/certify: noise calibration, sensitivity models, spectral radius,
// noise, composition, budgets, deletion capacity and release certificates.
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
  addGaussianNoise,
  cryptoNoiseSource,
  gaussianNoise,
  type NoiseSource,
  type NoiseSourceKind,
  seededNoiseSource,
} from './noise.js';
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
  type MaxSpectralNormResult,
  maxSpectralNorm,
  type SpectralNormOptions,
  type SpectralNormResult,
  type SymmetricOperator,
  spectralNorm,
} from './spectral-norm.js';
