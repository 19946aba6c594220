import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { LetheError } from '@lethe/core';
import { createDataset, type Dataset, type DatasetSplit } from './dataset.js';
import { parseIdx } from './idx-format.js';
import { type Normalization, pixelsToFeatures, resolveNormalization } from './normalization.js';
import { readMaybeGzipped } from './read-file.js';

/** Where Debian's package `dataset-fashion-mnist` puts the four Fashion-MNIST IDX files (gzip). */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** The four standard file names of an IDX data set; each may also carry a `.gz` suffix. */
export const IDX_FILE_NAMES = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
});

export interface LoadIdxOptions {
  /**
   * `true` (default): the paper's MNIST statistics; `false`: pixels stay in [0, 1]; or your own
   * `{ mean, std }`, e.g. FASHION_MNIST_NORMALIZATION.
   */
  readonly normalize?: boolean | Normalization;
  /** Dataset name; defaults to the directory's name. */
  readonly name?: string;
  /** Number of classes; defaults to the largest label in either file plus one. */
  readonly numClasses?: number;
}

const ALL_FILES = Object.values(IDX_FILE_NAMES).join(', ');

function findIdxFile(dir: string, baseName: string): string {
  // The plain file wins when both exist: it needs no decompression.
  for (const candidate of [baseName, `${baseName}.gz`]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  const present = readdirSync(dir).sort();
  throw new LetheError(
    'not-found',
    `IDX directory ${dir} has no ${baseName} (nor ${baseName}.gz). It must hold ${ALL_FILES} ` +
      `(each optionally .gz); it holds: ${present.length === 0 ? 'nothing' : present.join(', ')}.`,
  );
}

interface RawPart {
  readonly pixels: Uint8Array;
  readonly labels: Uint8Array;
  readonly rows: number;
  readonly cols: number;
}

function readPart(dir: string, imagesName: string, labelsName: string): RawPart {
  const imagesFile = findIdxFile(dir, imagesName);
  const labelsFile = findIdxFile(dir, labelsName);
  const images = parseIdx(readMaybeGzipped(imagesFile, 'IDX file'), 3, imagesFile, 'image');
  const labels = parseIdx(readMaybeGzipped(labelsFile, 'IDX file'), 1, labelsFile, 'label');
  const [count, rows, cols] = images.dims as [number, number, number];
  if (count === 0 || rows === 0 || cols === 0) {
    throw new LetheError(
      'invalid-file',
      `${imagesFile}: wrong dimensions ${images.dims.join(' x ')} (images x rows x columns); ` +
        'every dimension must be at least 1. The file is empty or corrupt; download it again.',
    );
  }
  if (labels.dims[0] !== count) {
    throw new LetheError(
      'mismatch',
      `${imagesFile} holds ${count} images but ${labelsFile} holds ${labels.dims[0]} labels; ` +
        'they must match one to one. Are the files from the same data set and complete? ' +
        'Download the pair again from one source.',
    );
  }
  return { pixels: images.data, labels: labels.data, rows, cols };
}

const max = (a: number, b: number): number => Math.max(a, b);

function toDataset(
  part: RawPart,
  name: string,
  numClasses: number,
  normalization: Normalization | undefined,
): Dataset {
  return createDataset({
    name,
    x: pixelsToFeatures(part.pixels, 1 / 255, normalization),
    y: Int32Array.from(part.labels),
    featureShape: [part.rows, part.cols, 1],
    numClasses,
  });
}

/**
 * Loads an IDX data set (MNIST, Fashion-MNIST, ...) from a directory holding the four standard
 * files. The train and test halves are the files' own. Pixels are scaled to [0, 1], then
 * normalised as `options.normalize` says; featureShape is [rows, cols, 1].
 */
export function loadIdx(dir: string, options: LoadIdxOptions = {}): DatasetSplit {
  const absolute = resolve(dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) {
    throw new LetheError(
      'not-found',
      `IDX directory not found: ${absolute}. It must hold ${ALL_FILES} (each optionally .gz). ` +
        `For Fashion-MNIST on Debian: apt-get install dataset-fashion-mnist (files in ` +
        `${FASHION_MNIST_DEBIAN_DIR}).`,
    );
  }
  const normalization = resolveNormalization(options.normalize);
  const names = IDX_FILE_NAMES;
  const train = readPart(absolute, names.trainImages, names.trainLabels);
  const test = readPart(absolute, names.testImages, names.testLabels);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new LetheError(
      'mismatch',
      `IDX directory ${absolute}: training images are ${train.rows} x ${train.cols} but test ` +
        `images are ${test.rows} x ${test.cols}; both halves must come from the same data set ` +
        '(put the four files of one data set in the directory).',
    );
  }
  const largestLabel = Math.max(train.labels.reduce(max, 0), test.labels.reduce(max, 0));
  const numClasses = options.numClasses ?? largestLabel + 1;
  if (largestLabel >= numClasses) {
    throw new LetheError(
      'invalid-argument',
      `IDX directory ${absolute}: label ${largestLabel} found but numClasses is ${numClasses}; ` +
        `raise numClasses to at least ${largestLabel + 1}.`,
    );
  }
  const name = options.name ?? basename(absolute);
  return {
    train: toDataset(train, name, numClasses, normalization),
    test: toDataset(test, name, numClasses, normalization),
  };
}
