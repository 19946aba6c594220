// @lethe/certify/trajectory: what needs the recorded run and tensors (TensorFlow.js, the
// engine). Kept off the main entry so that calibrating noise and verifying a certificate need
// neither; install @lethe/autodiff and @lethe/recollect to use it.

export { type SoftmaxRunOptions, softmaxRunFromTrajectory } from './trajectory-removal.js';
export {
  type StepRho,
  type TrajectoryRhoOptions,
  type TrajectoryRhoResult,
  trajectoryRho,
} from './trajectory-rho.js';
export { type TrajectorySoftmaxRhoOptions, trajectorySoftmaxRho } from './trajectory-softmax.js';
