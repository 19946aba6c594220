import { LetheError, Rng } from '@lethe/core';
import { createDataset, type Dataset } from './dataset.js';

export interface MakeBlobsOptions {
  /** Number of samples. */
  readonly n: number;
  /** Features per sample. */
  readonly features: number;
  /** Number of blobs, one per class. */
  readonly classes: number;
  readonly seed: number;
  /** Standard deviation of every blob along every axis. Default 1. */
  readonly clusterStd?: number;
  /** Blob centres are uniform in [-centerBox, centerBox] per feature. Default 10. */
  readonly centerBox?: number;
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new LetheError(
      'invalid-argument',
      `makeBlobs: ${name} must be a positive integer, got ${value}; pass a whole number >= 1.`,
    );
  }
}

/**
 * Isotropic Gaussian blobs, one per class, in the spirit of scikit-learn's make_blobs. Classes
 * are balanced (sizes differ by at most one) and come in a seeded random order; the same options
 * always give the same data. featureShape is [features].
 */
export function makeBlobs(options: MakeBlobsOptions): Dataset {
  const { n, features, classes, seed, clusterStd = 1, centerBox = 10 } = options;
  requirePositiveInteger('n', n);
  requirePositiveInteger('features', features);
  requirePositiveInteger('classes', classes);
  if (!(clusterStd >= 0) || !Number.isFinite(clusterStd)) {
    throw new LetheError(
      'invalid-argument',
      `makeBlobs: clusterStd must be a finite number >= 0, got ${clusterStd}; leave it out for the default 1.`,
    );
  }
  if (!(centerBox >= 0) || !Number.isFinite(centerBox)) {
    throw new LetheError(
      'invalid-argument',
      `makeBlobs: centerBox must be a finite number >= 0, got ${centerBox}; leave it out for the default 10.`,
    );
  }
  const random = new Rng(seed);
  const centers = Float64Array.from(
    { length: classes * features },
    () => (2 * random.nextFloat() - 1) * centerBox,
  );
  const y = random.shuffle(Int32Array.from({ length: n }, (_, i) => i % classes));
  const x = new Float32Array(n * features);
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    for (let j = 0; j < features; j++) {
      x[i * features + j] = centers[c * features + j]! + clusterStd * random.normal();
    }
  }
  return createDataset({ name: 'blobs', x, y, featureShape: [features], numClasses: classes });
}
