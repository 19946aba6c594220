import { LetheError, Rng } from '@lethe/core';
import { type Dataset, type DatasetSplit, takeSamples } from './dataset.js';

export interface TrainTestSplitOptions {
  /** Share of each class that goes to the test set, in (0, 1). */
  readonly testFraction: number;
  readonly seed: number;
}

/**
 * How many samples of each class go to the test set: fraction * count, rounded by largest
 * remainder so the quotas add up to round(n * fraction) exactly (ties go to the lower class).
 */
export function testQuotas(classCounts: readonly number[], testFraction: number): number[] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const exact = classCounts.map((count) => count * testFraction);
  const quotas = exact.map(Math.floor);
  let missing = Math.round(total * testFraction) - quotas.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((value, c) => ({ c, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.c - b.c);
  for (const { c } of byRemainder) {
    if (missing <= 0) break;
    if (quotas[c]! < classCounts[c]!) {
      quotas[c]! += 1;
      missing--;
    }
  }
  return quotas;
}

/**
 * Seeded stratified split of sample indices. Both halves come out in a seeded random order, so
 * a prefix of either is a fair sample of its classes.
 */
export function stratifiedSplitIndices(
  y: Int32Array,
  numClasses: number,
  testFraction: number,
  seed: number,
): { train: Int32Array; test: Int32Array } {
  const counts = new Array<number>(numClasses).fill(0);
  for (const label of y) counts[label]! += 1;
  const quotas = testQuotas(counts, testFraction);
  const random = new Rng(seed);
  const order = random.permutation(y.length);
  const testTaken = new Array<number>(numClasses).fill(0);
  const test: number[] = [];
  const train: number[] = [];
  for (const i of order) {
    const label = y[i]!;
    if (testTaken[label]! < quotas[label]!) {
      testTaken[label]! += 1;
      test.push(i);
    } else {
      train.push(i);
    }
  }
  // Early in `order` most samples go to test until quotas fill, so train's own order would
  // start with the classes whose quotas filled first: shuffle both halves again.
  return {
    train: random.shuffle(Int32Array.from(train)),
    test: random.shuffle(Int32Array.from(test)),
  };
}

/** Seeded stratified train/test split of one Dataset. */
export function trainTestSplit(ds: Dataset, options: TrainTestSplitOptions): DatasetSplit {
  const { testFraction, seed } = options;
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new LetheError(
      'invalid-argument',
      `testFraction must be between 0 and 1 (exclusive), got ${testFraction}.`,
    );
  }
  const { train, test } = stratifiedSplitIndices(ds.y, ds.numClasses, testFraction, seed);
  if (train.length === 0 || test.length === 0) {
    throw new LetheError(
      'invalid-argument',
      `Dataset '${ds.name}': splitting ${ds.n} samples with testFraction ${testFraction} leaves ` +
        `${train.length} for training and ${test.length} for testing; both need at least one. ` +
        'Use more samples or a testFraction closer to 0.5.',
    );
  }
  return { train: takeSamples(ds, train), test: takeSamples(ds, test) };
}
