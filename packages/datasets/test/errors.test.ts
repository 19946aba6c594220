import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLetheError } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import { createDataset } from '../src/dataset.js';
import { loadCsv, loadIdx, subset } from '../src/index.js';

function caught(f: () => unknown): Error {
  try {
    f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('errors', () => {
  it('names a missing file or directory and the fix, with code not-found', () => {
    const err = caught(() => loadCsv('/nonexistent/wine.csv', { label: 0 }));
    expect(isLetheError(err, 'not-found')).toBe(true);
    expect(err.message).toMatch(/not found: \/nonexistent\/wine\.csv\. Check the path/);
    expect(
      isLetheError(
        caught(() => loadIdx('/nonexistent')),
        'not-found',
      ),
    ).toBe(true);
  });

  it('refuses a malformed file with code invalid-file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-datasets-errors-'));
    try {
      const file = join(dir, 'bad.gz');
      writeFileSync(file, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
      const err = caught(() => loadCsv(file, { label: 0 }));
      expect(isLetheError(err, 'invalid-file')).toBe(true);
      expect(err.message).toMatch(/does not decompress/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses fractional labels instead of truncating them', () => {
    const err = caught(() =>
      createDataset({
        name: 'toy',
        x: new Float32Array(4),
        y: Float32Array.from([0, 0.5]) as unknown as Int32Array,
        featureShape: [2],
        numClasses: 2,
      }),
    );
    expect(isLetheError(err, 'invalid-argument')).toBe(true);
    expect(err.message).toMatch(/label 0.5 of sample 1/);
  });

  it('refuses subset sizes that are not whole numbers', () => {
    const ds = createDataset({
      name: 'toy',
      x: new Float32Array(8),
      y: Int32Array.from([0, 1, 0, 1]),
      featureShape: [2],
      numClasses: 2,
    });
    expect(
      isLetheError(
        caught(() => subset(ds, 1.5, 1)),
        'invalid-argument',
      ),
    ).toBe(true);
    expect(caught(() => subset(ds, 9, 1)).message).toMatch(/use n <= 4/);
  });
});
