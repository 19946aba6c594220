// Public API of @lethe/core: what every stage shares and none of it needs tensors for.
export {
  type DataShape,
  selectRows,
  sizeOfShape,
  type TrainingData,
  validateTrainingData,
} from './data.js';
export { weightsSha256 } from './digest.js';
export { isLetheError, LetheError, type LetheErrorCode } from './errors.js';
export { type SampleIdCheck, validateSampleIds } from './ids.js';
export { assertRecipeDigest, type ModelRecipe } from './recipe.js';
export { deriveSeed, Rng } from './rng.js';
