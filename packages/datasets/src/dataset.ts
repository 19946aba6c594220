import { LetheError, selectRows } from '@lethe/core';

/** One set of labelled samples, stored flat so it can go straight into a tensor. */
export interface Dataset {
  readonly name: string;
  /** n * prod(featureShape) values, row-major, one sample after another. */
  readonly x: Float32Array;
  /** Class index of each sample, in 0..numClasses-1. */
  readonly y: Int32Array;
  readonly n: number;
  /** Shape of one sample, e.g. [28, 28, 1] (height, width, channels) for MNIST. */
  readonly featureShape: readonly number[];
  readonly numClasses: number;
  /** Human-readable class names when the source has them (CSV label values, sklearn headers). */
  readonly classNames?: readonly string[];
}

export interface DatasetSplit {
  readonly train: Dataset;
  readonly test: Dataset;
}

/** Number of values in one sample. */
export function featureSize(featureShape: readonly number[]): number {
  return featureShape.reduce((a, b) => a * b, 1);
}

export interface DatasetParts {
  name: string;
  x: Float32Array;
  y: Int32Array;
  featureShape: readonly number[];
  numClasses: number;
  classNames?: readonly string[] | undefined;
}

/**
 * Builds a Dataset after checking that its parts agree, so a loader bug surfaces here rather
 * than as a silent shape mismatch deep inside training.
 */
export function createDataset(parts: DatasetParts): Dataset {
  const { name, x, y, featureShape, numClasses, classNames } = parts;
  const size = featureSize(featureShape);
  const n = y.length;
  if (featureShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new LetheError(
      'invalid-argument',
      `Dataset '${name}': featureShape [${featureShape}] must be whole numbers >= 1, e.g. [28, 28, 1] or [13].`,
    );
  }
  if (x.length !== n * size) {
    throw new LetheError(
      'shape-mismatch',
      `Dataset '${name}': x has ${x.length} values but ${n} samples of shape [${featureShape}] need ${n * size}; give every sample its ${size} feature values.`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new LetheError(
      'invalid-argument',
      `Dataset '${name}': numClasses must be a whole number >= 1, got ${numClasses}; pass the number of classes, e.g. 10.`,
    );
  }
  for (let i = 0; i < n; i++) {
    const label = y[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new LetheError(
        'invalid-argument',
        `Dataset '${name}': label ${label} of sample ${i} is not a class index 0..${numClasses - 1}; labels must be whole numbers in that range (fix the label, or raise numClasses).`,
      );
    }
  }
  if (classNames !== undefined && classNames.length !== numClasses) {
    throw new LetheError(
      'invalid-argument',
      `Dataset '${name}': ${classNames.length} class names given for ${numClasses} classes; give one name per class.`,
    );
  }
  const dataset: Dataset = {
    name,
    x,
    y,
    n,
    featureShape: Object.freeze([...featureShape]),
    numClasses,
    ...(classNames === undefined ? {} : { classNames: Object.freeze([...classNames]) }),
  };
  return Object.freeze(dataset);
}

/** Copies the samples at `indices` (in that order) into a new Dataset. */
export function takeSamples(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i]!;
    if (!(Number.isInteger(index) && index >= 0 && index < ds.n)) {
      throw new LetheError(
        'unknown-id',
        `takeSamples: index ${index} (position ${i}) is not a sample of '${ds.name}'; pass whole numbers in 0..${ds.n - 1}.`,
      );
    }
  }
  const { x, y } = selectRows(ds, indices, featureSize(ds.featureShape));
  return createDataset({
    name,
    x,
    y,
    featureShape: ds.featureShape,
    numClasses: ds.numClasses,
    classNames: ds.classNames,
  });
}
