import { LetheError } from '@lethe/core';
/** Per-pixel affine normalisation x -> (x - mean) / std, applied after scaling pixels to [0, 1]. */
export interface Normalization {
  readonly mean: number;
  readonly std: number;
}

/** The paper's MNIST statistics (mean and std of the full 60,000-image MNIST training set). */
export const MNIST_NORMALIZATION: Normalization = Object.freeze({ mean: 0.1307, std: 0.3081 });

/** Mean and std of the 60,000 Fashion-MNIST training images (checked against the real files). */
export const FASHION_MNIST_NORMALIZATION: Normalization = Object.freeze({
  mean: 0.286,
  std: 0.353,
});

/**
 * Turns a `normalize` option into the statistics to apply, or undefined for none.
 * `true` (and the default) means the paper's MNIST statistics.
 */
export function resolveNormalization(
  option: boolean | Normalization | undefined,
): Normalization | undefined {
  if (option === false) return undefined;
  if (option === undefined || option === true) return MNIST_NORMALIZATION;
  const { mean, std } = option;
  if (!Number.isFinite(mean) || !Number.isFinite(std) || std <= 0) {
    throw new LetheError(
      'invalid-argument',
      `normalize needs a finite mean and a positive std, got mean ${mean}, std ${std}; pass e.g. FASHION_MNIST_NORMALIZATION, or normalize: false for raw [0, 1] pixels.`,
    );
  }
  return option;
}

/**
 * Pixel values times `scale`, then normalised when `normalization` is given. Computed in float64
 * and rounded to float32 once, so results do not depend on the order of the two steps.
 */
export function pixelsToFeatures(
  values: ArrayLike<number>,
  scale: number,
  normalization: Normalization | undefined,
): Float32Array {
  const x = new Float32Array(values.length);
  const mean = normalization?.mean ?? 0;
  const std = normalization?.std ?? 1;
  for (let i = 0; i < values.length; i++) x[i] = (values[i]! * scale - mean) / std;
  return x;
}
