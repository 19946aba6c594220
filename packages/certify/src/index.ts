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
  type PaperSensitivityModel,
  type PaperSensitivityParams,
  paperSensitivity,
  paperStepCounts,
  type SensitivityModel,
  sensitivityValue,
  type UserSensitivityModel,
  withDeletions,
} from './sensitivity.js';
