import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { onTestFinished } from 'vitest';

/** A fresh temporary directory, removed when the current test finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-datasets-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Encodes an unsigned-byte IDX file by hand (magic 0x0000 08 rank, big-endian sizes, data). */
export function encodeIdx(dims: readonly number[], data: ArrayLike<number>): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE((0x08 << 8) | dims.length, 0);
  dims.forEach((size, d) => header.writeUInt32BE(size, 4 + 4 * d));
  return Buffer.concat([header, Buffer.from(Uint8Array.from(data))]);
}

export interface TinyIdxSet {
  readonly trainImages: Uint8Array;
  readonly trainLabels: Uint8Array;
  readonly testImages: Uint8Array;
  readonly testLabels: Uint8Array;
  readonly rows: number;
  readonly cols: number;
}

/** 5 training and 3 test images of 3 x 2 pixels with known bytes and labels in 0..3. */
export function tinyIdxSet(): TinyIdxSet {
  const rows = 3;
  const cols = 2;
  return {
    trainImages: Uint8Array.from({ length: 5 * rows * cols }, (_, i) => (i * 37) % 256),
    trainLabels: Uint8Array.from([0, 1, 2, 1, 0]),
    testImages: Uint8Array.from({ length: 3 * rows * cols }, (_, i) => 255 - ((i * 11) % 256)),
    testLabels: Uint8Array.from([3, 0, 2]),
    rows,
    cols,
  };
}

/** Writes the four standard IDX files of `set` into `dir`, each gzipped or not. */
export function writeIdxSet(
  dir: string,
  set: TinyIdxSet,
  gzip: {
    trainImages?: boolean;
    trainLabels?: boolean;
    testImages?: boolean;
    testLabels?: boolean;
  },
): void {
  const files = [
    [
      'train-images-idx3-ubyte',
      encodeIdx([5, set.rows, set.cols], set.trainImages),
      gzip.trainImages,
    ],
    ['train-labels-idx1-ubyte', encodeIdx([5], set.trainLabels), gzip.trainLabels],
    ['t10k-images-idx3-ubyte', encodeIdx([3, set.rows, set.cols], set.testImages), gzip.testImages],
    ['t10k-labels-idx1-ubyte', encodeIdx([3], set.testLabels), gzip.testLabels],
  ] as const;
  for (const [name, bytes, zipped] of files) {
    if (zipped) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
    else writeFileSync(join(dir, name), bytes);
  }
}

export const ALL_GZIP = {
  trainImages: true,
  trainLabels: true,
  testImages: true,
  testLabels: true,
};
export const NO_GZIP = {};

/** Mean and population std in float64. */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += (values[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(sq / values.length) };
}

/** Counts of each label 0..numClasses-1. */
export function classCounts(y: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of y) counts[label]! += 1;
  return counts;
}

/**
 * Index of the first element where two arrays differ (-1 when equal, or the shorter length).
 * vitest's deep equality is far too slow for millions of elements.
 */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}
