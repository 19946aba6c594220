import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import { createDataset } from '../src/dataset.js';
import {
  applyStandardization,
  loadCsv,
  loadDatasetSpec,
  loadIdx,
  makeBlobs,
  subset,
  takeSamples,
} from '../src/index.js';
import { NO_GZIP, tempDir, tinyIdxSet, writeIdxSet } from './fixtures.js';

function writeTemp(name: string, text: string | Buffer): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

const toy = () => makeBlobs({ n: 4, features: 2, classes: 2, seed: 0 });

describe('errors', () => {
  it('names a missing file or directory and the fix, with code not-found', () => {
    const err = thrown(() => loadCsv('/nonexistent/wine.csv', { label: 0 }));
    expect(isLetheError(err, 'not-found')).toBe(true);
    expect(err.message).toMatch(/not found: \/nonexistent\/wine\.csv\. Check the path/);
    const dir = thrown(() => loadIdx('/nonexistent'));
    expect(isLetheError(dir, 'not-found')).toBe(true);
    expect(dir.message).toMatch(/apt-get install dataset-fashion-mnist/);

    const partial = tempDir();
    writeIdxSet(partial, tinyIdxSet(), NO_GZIP);
    rmSync(join(partial, 't10k-labels-idx1-ubyte'));
    const missing = thrown(() => loadIdx(partial));
    expect(isLetheError(missing, 'not-found')).toBe(true);
    expect(missing.message).toMatch(/has no t10k-labels-idx1-ubyte .*It must hold/);
  });

  it('refuses a malformed file with code invalid-file', () => {
    const gz = thrown(() =>
      loadCsv(writeTemp('bad.gz', Buffer.from([0x1f, 0x8b, 1, 2, 3])), { label: 0 }),
    );
    expect(isLetheError(gz, 'invalid-file')).toBe(true);
    expect(gz.message).toMatch(/does not decompress .*Download it again/);

    const quote = thrown(() =>
      loadCsv(writeTemp('quote.csv', 'a,b,label\n1,"2,0\n'), { label: -1 }),
    );
    expect(isLetheError(quote, 'invalid-file')).toBe(true);
    expect(quote.message).toMatch(/a quoted cell is never closed\. Add the closing quote/);

    const empty = thrown(() => loadCsv(writeTemp('empty.csv', '\n'), { label: 0 }));
    expect(isLetheError(empty, 'invalid-file')).toBe(true);
    expect(empty.message).toMatch(/the CSV file is empty; check the path/);
  });

  it('refuses fractional labels in a CSV instead of taking them for classes', () => {
    const path = writeTemp('target.csv', 'a,b,y\n1,2,0\n3,4,1\n5,6,0.5\n7,8,1\n');
    const err = thrown(() => loadCsv(path, { label: 'y' }));
    expect(isLetheError(err, 'invalid-file')).toBe(true);
    expect(err.message).toMatch(
      /row 3 \(line 4\), column 3 \('y'\): label 0.5 is not a whole number.*Pick the class column with the label option/,
    );
  });

  it('refuses fractional labels instead of truncating them', () => {
    const err = thrown(() =>
      createDataset({
        name: 'toy',
        x: new Float32Array(4),
        y: Float32Array.from([0, 0.5]) as unknown as Int32Array,
        featureShape: [2],
        numClasses: 2,
      }),
    );
    expect(isLetheError(err, 'invalid-argument')).toBe(true);
    expect(err.message).toMatch(
      /label 0.5 of sample 1 is not a class index 0..1; labels must be whole numbers/,
    );
  });

  it('refuses label options that do not fit the file', () => {
    const path = writeTemp('cols.csv', 'a,b,label\n1,2,0\n3,4,1\n');
    const name = thrown(() => loadCsv(path, { label: 'class' }));
    expect(isLetheError(name, 'invalid-argument')).toBe(true);
    expect(name.message).toMatch(/Columns: 'a', 'b', 'label'; pass one of them as label/);
    const index = thrown(() => loadCsv(path, { label: 2.5 }));
    expect(isLetheError(index, 'invalid-argument')).toBe(true);
    expect(index.message).toMatch(/use 0..2, or -1 for the last/);
  });

  it('takeSamples refuses indices that are not samples of the data set', () => {
    const ds = toy();
    for (const index of [1.5, -1, 4, Number.NaN]) {
      const err = thrown(() => takeSamples(ds, [0, index]));
      expect(isLetheError(err, 'unknown-id')).toBe(true);
      expect(err.message).toMatch(
        /index .* \(position 1\) is not a sample of 'blobs'; pass whole numbers in 0..3/,
      );
    }
  });

  it('refuses subset sizes that are not whole numbers', () => {
    const ds = toy();
    expect(
      isLetheError(
        thrown(() => subset(ds, 1.5, 1)),
        'invalid-argument',
      ),
    ).toBe(true);
    expect(thrown(() => subset(ds, 9, 1)).message).toMatch(/use n <= 4/);
  });

  it('refuses bad generator, normalisation and standardisation options', () => {
    const std = thrown(() => makeBlobs({ n: 4, features: 2, classes: 2, seed: 0, clusterStd: -1 }));
    expect(isLetheError(std, 'invalid-argument')).toBe(true);
    expect(std.message).toMatch(/clusterStd must be a finite number >= 0, got -1; leave it out/);

    const dir = tempDir();
    writeIdxSet(dir, tinyIdxSet(), NO_GZIP);
    const norm = thrown(() => loadIdx(dir, { normalize: { mean: 0.5, std: 0 } }));
    expect(isLetheError(norm, 'invalid-argument')).toBe(true);
    expect(norm.message).toMatch(/positive std.*or normalize: false/);

    const stats = { mean: new Float64Array(3), std: new Float64Array(3) };
    const shape = thrown(() => applyStandardization(toy(), stats));
    expect(isLetheError(shape, 'shape-mismatch')).toBe(true);
    expect(shape.message).toMatch(
      /has 3 features but 'blobs' has 2 per sample; apply statistics fitted/,
    );

    const spec = thrown(() => loadDatasetSpec('cifar'));
    expect(isLetheError(spec, 'invalid-argument')).toBe(true);
    expect(spec.message).toMatch(/Use 'mnist', 'fashion-mnist'/);
  });
});
