import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataPresent } from '@lethe/vitest-config/data';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DEBIAN_DIR, loadDatasetSpec } from '../src/index.js';
import { NO_GZIP, tempDir, tinyIdxSet, writeIdxSet } from './fixtures.js';

describe('loadDatasetSpec', () => {
  it("'mnist' is the bundled, normalised MNIST split", () => {
    const { train, test } = loadDatasetSpec('mnist');
    expect([train.n, test.n]).toEqual([8000, 2000]);
    expect(Math.min(...train.x.subarray(0, 784))).toBeCloseTo(-0.1307 / 0.3081, 5);
  });

  it("'idx:DIR' loads the IDX files of DIR", () => {
    const dir = tempDir();
    writeIdxSet(dir, tinyIdxSet(), NO_GZIP);
    const { train, test } = loadDatasetSpec(`idx:${dir}`);
    expect([train.n, test.n]).toEqual([5, 3]);
    expect(train.x[0]).toBeCloseTo(-0.1307 / 0.3081, 5); // first pixel byte is 0
  });

  it("'csv:FILE' uses the last column as label (paths may contain colons)", () => {
    const path = join(tempDir(), 'a:b.csv');
    const rows = Array.from(
      { length: 10 },
      (_, i) => `${i},${i * i},${i % 2 === 0 ? 'even' : 'odd'}`,
    );
    writeFileSync(path, rows.join('\n'));
    const { train, test } = loadDatasetSpec(`csv:${path}`);
    expect(train.n + test.n).toBe(10);
    expect(train.classNames).toEqual(['even', 'odd']);
    expect(train.featureShape).toEqual([2]);
  });

  it("'blobs' has defaults and takes parameters", () => {
    const plain = loadDatasetSpec('blobs');
    expect(plain.train.n + plain.test.n).toBe(600);
    expect(plain.train.featureShape).toEqual([2]);
    const custom = loadDatasetSpec('blobs:n=50,features=4,classes=5,seed=9');
    expect([custom.train.n, custom.test.n]).toEqual([40, 10]);
    expect(custom.train.numClasses).toBe(5);
    expect(loadDatasetSpec('blobs:n=50,features=4,classes=5,seed=9').test.x).toEqual(custom.test.x);
  });

  it('explains unknown or incomplete specs', () => {
    expect(() => loadDatasetSpec('cifar')).toThrow(
      /Unknown dataset spec 'cifar'. Use 'mnist', 'fashion-mnist', 'idx:DIR'/,
    );
    expect(() => loadDatasetSpec('mnist:extra')).toThrow(/Unknown dataset spec 'mnist:extra'/);
    expect(() => loadDatasetSpec('idx:')).toThrow(
      /Dataset spec 'idx:' needs a directory after idx:/,
    );
    expect(() => loadDatasetSpec('csv:')).toThrow(/needs a file after csv:/);
    expect(() => loadDatasetSpec('blobs:n=5,depth=3')).toThrow(
      /'depth=3' is not one of n=, features=, classes=, seed=/,
    );
    expect(() => loadDatasetSpec('blobs:n=five')).toThrow(/n must be an integer, got 'five'/);
  });

  it.skipIf(!dataPresent(FASHION_MNIST_DEBIAN_DIR, 'dataset-fashion-mnist'))(
    `'fashion-mnist' loads ${FASHION_MNIST_DEBIAN_DIR} (skipped when that directory is missing)`,
    () => {
      const { train, test } = loadDatasetSpec('fashion-mnist');
      expect(train.name).toBe('fashion-mnist');
      expect([train.n, test.n]).toEqual([60000, 10000]);
    },
  );
});
