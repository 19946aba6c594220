// @lethe/recollect/internals: the engine's parts that sibling packages (baselines, certify's
// trajectory tools, the bench) build on. Not a stable API for applications: it follows the
// engine's needs from release to release.
export { DataTensors, validateData } from './data.js';
export { blocksOf } from './recollect.js';
export { computeApproximators, type RecursionInput } from './recursion.js';
export { WeightsCursor } from './replay.js';
export { type ReplayOptions, replay } from './retrain.js';
export { sgdStep } from './step.js';
export { assertDataMatches, assertTrajectoryMatches, trajectoryDigest } from './trajectory.js';
