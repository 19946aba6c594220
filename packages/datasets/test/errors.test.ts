import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import { createDataset } from '../src/dataset.js';
import { loadCsv, loadIdx, subset } from '../src/index.js';

describe('errors', () => {
  it('names a missing file or directory and the fix, with code not-found', () => {
    const err = thrown(() => loadCsv('/nonexistent/wine.csv', { label: 0 }));
    expect(isLetheError(err, 'not-found')).toBe(true);
    expect(err.message).toMatch(/not found: \/nonexistent\/wine\.csv\. Check the path/);
    expect(
      isLetheError(
        thrown(() => loadIdx('/nonexistent')),
        'not-found',
      ),
    ).toBe(true);
  });

  it('refuses a malformed file with code invalid-file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-datasets-errors-'));
    try {
      const file = join(dir, 'bad.gz');
      writeFileSync(file, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
      const err = thrown(() => loadCsv(file, { label: 0 }));
      expect(isLetheError(err, 'invalid-file')).toBe(true);
      expect(err.message).toMatch(/does not decompress/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
        thrown(() => subset(ds, 1.5, 1)),
        'invalid-argument',
      ),
    ).toBe(true);
    expect(thrown(() => subset(ds, 9, 1)).message).toMatch(/use n <= 4/);
  });
});
