// Public API of @lethe/mia: ROC tools, LiRA (MIA-L) and the unlearning attack (MIA-U).
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
