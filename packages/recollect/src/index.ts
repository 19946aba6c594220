export { PAPER_CNN, PAPER_LOGISTIC, type TrainConfig, validateConfig } from './config.js';
export { DataTensors, type TrainingData, validateData } from './data.js';
export {
  type RecollectOptions,
  type RecollectProgress,
  type RecollectResult,
  recollect,
} from './recollect.js';
export { computeApproximators, type RecursionInput } from './recursion.js';
export { type RepairOptions, type RepairResult, repair } from './repair.js';
export { WeightsCursor } from './replay.js';
export { type Normaliser, type ReplayOptions, replay, retrain } from './retrain.js';
export { buildSchedule, type ScheduledStep } from './schedule.js';
export {
  type SecondOrderOptions,
  type SecondOrderResult,
  secondOrderUpdate,
} from './second-order.js';
export { sgdStep } from './step.js';
export { type TrainOptions, type TrainResult, train } from './train.js';
export {
  assertTrajectoryMatches,
  type CheckpointPolicy,
  finalWeights,
  type RecordedStep,
  storeIdentity,
  type Trajectory,
} from './trajectory.js';
export { type ApproximatorSource, Unlearner, type UnlearnRecord } from './unlearn.js';
