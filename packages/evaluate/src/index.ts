// Public API of @lethe/evaluate: metrics from weights and logits (distance, accuracy, losses,
// correlation), ROC tools, LiRA (MIA-L), the unlearning attack (MIA-U) and the empirical
// epsilon of a privacy audit. No tensors.
export {
  type AttackClassifier,
  type AttackModel,
  type AttackOptions,
  trainAttack,
} from './attack.js';
export { logitScaledConfidence, posteriors } from './confidence.js';
export { FEATURE_KINDS, type FeatureKind, unlearningFeatures } from './features.js';
export { type LiraOptions, liraScores } from './lira.js';
export type { Matrix } from './matrix.js';
export { accuracy, crossEntropyLosses, l2Distance, pearson } from './metrics.js';
export {
  type BinomialBounds,
  clopperPearson,
  type EmpiricalEpsilon,
  type EmpiricalEpsilonOptions,
  empiricalEpsilon,
} from './privacy-audit.js';
export {
  type AttackMetrics,
  attackMetrics,
  aucNullStd,
  type Roc,
  roc,
  tprAtFpr,
} from './roc.js';
export {
  type ShadowSet,
  type ShadowTrainer,
  shadowMemberships,
  type TrainShadowsOptions,
  trainShadows,
} from './shadows.js';
export {
  type UnlearningAttackOptions,
  type UnlearningAttackResult,
  type UnlearningPairs,
  unlearningAttack,
} from './unlearning-attack.js';
