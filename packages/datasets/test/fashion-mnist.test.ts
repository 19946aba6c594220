import { dataPresent } from '@lethe/vitest-config/data';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DEBIAN_DIR, FASHION_MNIST_NORMALIZATION, loadIdx } from '../src/index.js';
import { classCounts, meanStd } from './fixtures.js';

const present = dataPresent(FASHION_MNIST_DEBIAN_DIR, 'dataset-fashion-mnist');
const title = present
  ? `real Fashion-MNIST from ${FASHION_MNIST_DEBIAN_DIR}`
  : `real Fashion-MNIST: SKIPPED, ${FASHION_MNIST_DEBIAN_DIR} is missing ` +
    '(apt-get install -y dataset-fashion-mnist to run it)';

describe.skipIf(!present)(title, () => {
  it('loads 60,000 + 10,000 balanced 28 x 28 images whose statistics match the constants', () => {
    const { train, test } = loadIdx(FASHION_MNIST_DEBIAN_DIR, { normalize: false });
    expect(train.name).toBe('fashion-mnist');
    expect([train.n, test.n]).toEqual([60000, 10000]);
    expect(train.featureShape).toEqual([28, 28, 1]);
    expect(train.numClasses).toBe(10);
    expect(classCounts(train.y, 10)).toEqual(new Array(10).fill(6000));
    expect(classCounts(test.y, 10)).toEqual(new Array(10).fill(1000));
    const { mean, std } = meanStd(train.x);
    expect(mean).toBeCloseTo(FASHION_MNIST_NORMALIZATION.mean, 3);
    expect(std).toBeCloseTo(FASHION_MNIST_NORMALIZATION.std, 3);
  });

  it('normalised with its own statistics, the training pixels are standard', () => {
    const { train } = loadIdx(FASHION_MNIST_DEBIAN_DIR, { normalize: FASHION_MNIST_NORMALIZATION });
    const { mean, std } = meanStd(train.x);
    expect(Math.abs(mean)).toBeLessThan(1e-3);
    expect(Math.abs(std - 1)).toBeLessThan(1e-3);
  });
});
