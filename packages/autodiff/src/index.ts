export {
  availableBackends,
  BACKEND_PREFERENCE,
  type BackendInfo,
  type BackendName,
  backendInfo,
  useBackend,
} from './backend.js';
export { applyClipJacobian, type ClipState, clipGradient, clipState } from './clip.js';
export { type BatchNormOptions, batchNorm } from './layers/batchnorm.js';
export { type Conv2dOptions, conv2d } from './layers/conv2d.js';
export { type ConvPairOptions, convPair } from './layers/convpair.js';
export { conv2dMaxPool } from './layers/convpool.js';
export { dense } from './layers/dense.js';
export type { Layer } from './layers/layer.js';
export { maxPool2d } from './layers/maxpool.js';
export { relu } from './layers/relu.js';
export { globalAvgPool, subsample2d } from './layers/resample.js';
export { type BlockLayer, residual } from './layers/residual.js';
export { buildLayout, layoutDigest, type ParamLayout, type ParamSegment } from './layout.js';
export { type Batch, type Model, type ModelPoint, type NamedLayer, sequential } from './model.js';
export { type CnnOptions, cnn, cnnLayers, cnnUnfusedLayers } from './models/cnn.js';
export { type LeNetOptions, lenet, lenetLayers, lenetUnfusedLayers } from './models/lenet.js';
export { type LogisticOptions, logisticRegression } from './models/logistic.js';
export { type MlpOptions, mlp } from './models/mlp.js';
export { type ResNetOptions, resnet, resnetLayers } from './models/resnet.js';
export { predictLogits } from './predict.js';
export {
  createModel,
  listModels,
  type ModelFactory,
  type ModelOptions,
  rebuildModel,
  recipeOf,
  registerModel,
} from './registry.js';
