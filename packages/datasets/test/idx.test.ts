import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_NORMALIZATION, loadIdx, MNIST_NORMALIZATION } from '../src/index.js';
import {
  ALL_GZIP,
  encodeIdx,
  NO_GZIP,
  type TinyIdxSet,
  tempDir,
  tinyIdxSet,
  writeIdxSet,
} from './fixtures.js';

function expectPixels(actual: Float32Array, bytes: Uint8Array, map: (v: number) => number): void {
  expect(actual.length).toBe(bytes.length);
  let worst = 0;
  bytes.forEach((b, i) => {
    worst = Math.max(worst, Math.abs(actual[i]! - map(b / 255)));
  });
  expect(worst).toBeLessThan(1e-6);
}

function expectRoundTrip(dir: string, set: TinyIdxSet): void {
  const { train, test } = loadIdx(dir, { normalize: false });
  expect(train.n).toBe(5);
  expect(test.n).toBe(3);
  expect(train.featureShape).toEqual([3, 2, 1]);
  expect(test.featureShape).toEqual([3, 2, 1]);
  expect(Array.from(train.y)).toEqual([0, 1, 2, 1, 0]);
  expect(Array.from(test.y)).toEqual([3, 0, 2]);
  expect(train.numClasses).toBe(4); // largest label in either file + 1
  expectPixels(train.x, set.trainImages, (v) => v);
  expectPixels(test.x, set.testImages, (v) => v);
}

describe('loadIdx round trips (files written by the test)', () => {
  it('reads plain IDX files', () => {
    const dir = tempDir();
    const set = tinyIdxSet();
    writeIdxSet(dir, set, NO_GZIP);
    expectRoundTrip(dir, set);
  });

  it('reads gzipped IDX files (.gz)', () => {
    const dir = tempDir();
    const set = tinyIdxSet();
    writeIdxSet(dir, set, ALL_GZIP);
    expectRoundTrip(dir, set);
  });

  it('reads a mix of plain and gzipped files, and gzip content under a plain name', () => {
    const dir = tempDir();
    const set = tinyIdxSet();
    writeIdxSet(dir, set, { trainImages: true, testLabels: true });
    expectRoundTrip(dir, set);
    // A browser may gunzip nothing yet drop the .gz: content decides, not the name.
    const zipped = readFileSync(join(dir, 'train-images-idx3-ubyte.gz'));
    rmSync(join(dir, 'train-images-idx3-ubyte.gz'));
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), zipped);
    expectRoundTrip(dir, set);
  });

  it('prefers the plain file when both it and the .gz exist', () => {
    const dir = tempDir();
    const set = tinyIdxSet();
    writeIdxSet(dir, set, NO_GZIP);
    writeFileSync(
      join(dir, 'train-labels-idx1-ubyte.gz'),
      gzipSync(encodeIdx([5], [3, 3, 3, 3, 3])),
    );
    expect(Array.from(loadIdx(dir).train.y)).toEqual([0, 1, 2, 1, 0]);
  });

  it('normalises with MNIST statistics by default, with given ones, or not at all', () => {
    const dir = tempDir();
    const set = tinyIdxSet();
    writeIdxSet(dir, set, ALL_GZIP);
    const mnist = MNIST_NORMALIZATION;
    expectPixels(loadIdx(dir).train.x, set.trainImages, (v) => (v - mnist.mean) / mnist.std);
    expectPixels(
      loadIdx(dir, { normalize: true }).test.x,
      set.testImages,
      (v) => (v - mnist.mean) / mnist.std,
    );
    const fashion = FASHION_MNIST_NORMALIZATION;
    expectPixels(
      loadIdx(dir, { normalize: fashion }).train.x,
      set.trainImages,
      (v) => (v - fashion.mean) / fashion.std,
    );
    expectPixels(
      loadIdx(dir, { normalize: { mean: 0.5, std: 0.25 } }).test.x,
      set.testImages,
      (v) => (v - 0.5) / 0.25,
    );
  });

  it('names the data set after its directory unless told otherwise, and honours numClasses', () => {
    const parent = tempDir();
    const dir = join(parent, 'tiny-digits');
    mkdirSync(dir);
    writeIdxSet(dir, tinyIdxSet(), NO_GZIP);
    expect(loadIdx(dir).train.name).toBe('tiny-digits');
    const named = loadIdx(dir, { name: 'other', numClasses: 10 });
    expect(named.test.name).toBe('other');
    expect(named.train.numClasses).toBe(10);
  });
});

describe('loadIdx errors name the file and the problem', () => {
  /** A valid tiny set in a temp dir, with one file then replaced by `bytes`. */
  function withFile(name: string, bytes: Uint8Array): string {
    const dir = tempDir();
    writeIdxSet(dir, tinyIdxSet(), NO_GZIP);
    writeFileSync(join(dir, name), bytes);
    return dir;
  }
  const trainImages = 'train-images-idx3-ubyte';
  const trainLabels = 'train-labels-idx1-ubyte';
  const pixels = (n: number): number[] => new Array<number>(n).fill(7);

  it('missing directory', () => {
    const dir = join(tempDir(), 'nope');
    expect(() => loadIdx(dir)).toThrow(
      /IDX directory not found: .*nope.*train-images-idx3-ubyte.*apt-get install dataset-fashion-mnist/,
    );
  });

  it('missing file: lists what the directory holds', () => {
    const dir = tempDir();
    writeIdxSet(dir, tinyIdxSet(), NO_GZIP);
    rmSync(join(dir, 't10k-labels-idx1-ubyte'));
    expect(() => loadIdx(dir)).toThrow(
      /has no t10k-labels-idx1-ubyte \(nor t10k-labels-idx1-ubyte.gz\).*it holds: t10k-images-idx3-ubyte, train-images/,
    );
  });

  it('wrong magic number: not an IDX file at all', () => {
    const dir = withFile(trainImages, Buffer.from('<html>404 Not Found</html>'));
    expect(() => loadIdx(dir)).toThrow(
      /train-images-idx3-ubyte: wrong magic number 0x3c68746d; an IDX image file starts with 0x00000803/,
    );
  });

  it('wrong magic number: unsupported element type', () => {
    const bytes = encodeIdx([5, 3, 2], pixels(30));
    bytes[2] = 0x0d; // float32 elements
    expect(() => loadIdx(withFile(trainImages, bytes))).toThrow(
      /wrong magic number 0x00000d03: element type 0xd is not supported/,
    );
  });

  it('wrong dimensions: labels where images belong', () => {
    const dir = withFile(trainImages, encodeIdx([5], [0, 1, 2, 3, 4]));
    expect(() => loadIdx(dir)).toThrow(
      /train-images-idx3-ubyte: wrong dimensions: the header declares 1 dimensions.*swapped/,
    );
  });

  it('wrong dimensions: a zero-sized image', () => {
    const dir = withFile(trainImages, encodeIdx([5, 0, 2], []));
    expect(() => loadIdx(dir)).toThrow(/train-images-idx3-ubyte: wrong dimensions 5 x 0 x 2/);
  });

  it('fewer bytes than the header says', () => {
    const dir = withFile(trainImages, encodeIdx([5, 3, 2], pixels(29)));
    expect(() => loadIdx(dir)).toThrow(
      /train-images-idx3-ubyte: truncated: the header declares 5 x 3 x 2 = 30 bytes of data but only 29 follow/,
    );
  });

  it('a header cut short', () => {
    const dir = withFile(trainImages, encodeIdx([5, 3, 2], []).subarray(0, 9));
    expect(() => loadIdx(dir)).toThrow(
      /truncated header: 3 dimensions need 16 header bytes but the file has 9/,
    );
  });

  it('a file too short for a magic number', () => {
    const dir = withFile(trainLabels, Uint8Array.from([0, 0]));
    expect(() => loadIdx(dir)).toThrow(
      /train-labels-idx1-ubyte: only 2 bytes, too short for an IDX label file/,
    );
  });

  it('more bytes than the header says', () => {
    const dir = withFile(trainLabels, encodeIdx([5], [0, 1, 2, 1, 0, 9, 9]));
    expect(() => loadIdx(dir)).toThrow(
      /train-labels-idx1-ubyte: 2 unexpected bytes after the 5 bytes of data/,
    );
  });

  it('label and image counts differ', () => {
    const dir = withFile(trainLabels, encodeIdx([4], [0, 1, 2, 1]));
    expect(() => loadIdx(dir)).toThrow(
      /train-images-idx3-ubyte holds 5 images but .*train-labels-idx1-ubyte holds 4 labels/,
    );
  });

  it('truncated gzip', () => {
    const dir = tempDir();
    writeIdxSet(dir, tinyIdxSet(), ALL_GZIP);
    const path = join(dir, 'train-images-idx3-ubyte.gz');
    const zipped = readFileSync(path);
    writeFileSync(path, zipped.subarray(0, zipped.length - 12));
    expect(() => loadIdx(dir)).toThrow(
      /train-images-idx3-ubyte.gz is gzip data that does not decompress .*truncated or corrupt/,
    );
  });

  it('train and test images of different sizes', () => {
    const dir = withFile('t10k-images-idx3-ubyte', encodeIdx([3, 2, 3], pixels(18)));
    expect(() => loadIdx(dir)).toThrow(/training images are 3 x 2 but test images are 2 x 3/);
  });

  it('labels beyond numClasses', () => {
    const dir = tempDir();
    writeIdxSet(dir, tinyIdxSet(), NO_GZIP);
    expect(() => loadIdx(dir, { numClasses: 3 })).toThrow(
      /label 3 found but numClasses is 3; raise numClasses to at least 4/,
    );
  });

  it('a normalisation with a non-positive std', () => {
    const dir = tempDir();
    writeIdxSet(dir, tinyIdxSet(), NO_GZIP);
    expect(() => loadIdx(dir, { normalize: { mean: 0.5, std: 0 } })).toThrow(/positive std/);
  });
});
