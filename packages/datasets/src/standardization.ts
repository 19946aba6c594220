import { LetheError } from '@lethe/core';
import { createDataset, type Dataset, featureSize } from './dataset.js';

/** Per-feature mean and (population) standard deviation, as fitted on a training set. */
export interface Standardization {
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

/** Fits per-feature statistics in float64. A constant feature gets std 1, so it maps to 0. */
export function fitStandardization(ds: Dataset): Standardization {
  const d = featureSize(ds.featureShape);
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < ds.n; i++) {
    for (let j = 0; j < d; j++) mean[j]! += ds.x[i * d + j]!;
  }
  for (let j = 0; j < d; j++) mean[j]! /= ds.n;
  // Two passes rather than E[x^2] - E[x]^2, which cancels badly for large offsets.
  for (let i = 0; i < ds.n; i++) {
    for (let j = 0; j < d; j++) std[j]! += (ds.x[i * d + j]! - mean[j]!) ** 2;
  }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j]! / ds.n);
    std[j] = s > 0 ? s : 1;
  }
  return { mean, std };
}

/** A new Dataset with (x - mean) / std applied feature by feature. */
export function applyStandardization(ds: Dataset, { mean, std }: Standardization): Dataset {
  const d = featureSize(ds.featureShape);
  if (mean.length !== d || std.length !== d) {
    throw new LetheError(
      'shape-mismatch',
      `Standardization has ${mean.length} features but '${ds.name}' has ${d} per sample; apply statistics fitted (fitStandardization) on data with the same features.`,
    );
  }
  const x = new Float32Array(ds.x.length);
  for (let i = 0; i < ds.n; i++) {
    for (let j = 0; j < d; j++) x[i * d + j] = (ds.x[i * d + j]! - mean[j]!) / std[j]!;
  }
  return createDataset({ ...ds, x });
}
