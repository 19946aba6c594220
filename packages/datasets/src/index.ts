export { type MakeBlobsOptions, makeBlobs } from './blobs.js';
export { type CsvDatasetSplit, type LoadCsvOptions, loadCsv } from './csv.js';
export { type Dataset, type DatasetSplit, featureSize, takeSamples } from './dataset.js';
export {
  FASHION_MNIST_DEBIAN_DIR,
  IDX_FILE_NAMES,
  type LoadIdxOptions,
  loadIdx,
} from './idx.js';
export { type LoadMnistOptions, loadMnist, MNIST_SPLIT } from './mnist.js';
export {
  FASHION_MNIST_NORMALIZATION,
  MNIST_NORMALIZATION,
  type Normalization,
} from './normalization.js';
export { loadDatasetSpec } from './spec.js';
export { type TrainTestSplitOptions, trainTestSplit } from './split.js';
export {
  applyStandardization,
  fitStandardization,
  type Standardization,
} from './standardization.js';
export { subset } from './subset.js';

/** Where Debian's python3-sklearn keeps scikit-learn's small CSV data sets (wine, iris, ...). */
export const SKLEARN_DEBIAN_DATA_DIR = '/usr/lib/python3/dist-packages/sklearn/datasets/data';
