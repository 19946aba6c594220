// Public API of @lethe/recollect: train with a recorded trajectory, compute the approximators,
// unlearn, retrain, repair. What only sibling packages need is on '@lethe/recollect/internals'.
export {
  PAPER_CNN,
  PAPER_LOGISTIC,
  type TrainConfig,
  validateConfig,
} from './config.js';
export type { TrainingData } from './data.js';
export {
  type RecollectExecutor,
  type RecollectOptions,
  type RecollectProgress,
  type RecollectResult,
  type RecollectWork,
  recollect,
} from './recollect.js';
export { type RepairOptions, type RepairResult, repair } from './repair.js';
export { type Normaliser, retrain } from './retrain.js';
export { buildSchedule, type ScheduledStep, type StepSizes } from './schedule.js';
export {
  type SecondOrderOptions,
  type SecondOrderResult,
  secondOrderUpdate,
} from './second-order.js';
export { type TrainOptions, type TrainResult, train } from './train.js';
export {
  type CheckpointPolicy,
  finalWeights,
  type RecordedStep,
  runDigests,
  storeIdentity,
  type Trajectory,
} from './trajectory.js';
export {
  type ApproximatorSource,
  type ForgetOptions,
  type PendingDeletion,
  Unlearner,
  type UnlearnMode,
  type UnlearnRecord,
} from './unlearn.js';
