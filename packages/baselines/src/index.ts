export { type CgOptions, type CgResult, conjugateGradient, conjugateGradientAsync } from './cg.js';
export {
  type CholeskyFactor,
  type CholeskyOptions,
  choleskyBlocked,
  choleskyFloat64,
  choleskySolve,
  type DampedFactor,
  type DampingOptions,
  factorWithDamping,
  NotPositiveDefiniteError,
  type SymmetricMatrix,
} from './cholesky.js';
export { sumGradients } from './data-ops.js';
export { type FineTuneOptions, fineTune } from './fine-tune.js';
export { type HessianOptions, hessianSum } from './hessian.js';
export { type HessianFreeOptions, hessianFree } from './hessian-free.js';
export type {
  PrepareRecord,
  RequestRecord,
  UnlearningContext,
  UnlearningMethod,
  UnlearnResult,
} from './method.js';
export { type NegativeGradientOptions, negativeGradient } from './negative-gradient.js';
export {
  infinitesimalJackknife,
  newtonStep,
  type SecondOrderOptions,
  type SecondOrderSolver,
} from './second-order.js';
