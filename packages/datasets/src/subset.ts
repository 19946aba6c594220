import { LetheError, Rng } from '@lethe/core';
import { type Dataset, takeSamples } from './dataset.js';

/**
 * n distinct samples of `ds` drawn without replacement, in a seeded random order. The same
 * (ds, n, seed) always gives the same subset, and subsets with one seed are nested: the subset
 * of size m is the first m samples of the subset of size n >= m.
 */
export function subset(ds: Dataset, n: number, seed: number): Dataset {
  if (!Number.isInteger(n) || n < 0) {
    throw new LetheError(
      'invalid-argument',
      `subset size must be a non-negative integer, got ${n}.`,
    );
  }
  if (n > ds.n) {
    throw new LetheError(
      'invalid-argument',
      `Cannot take a subset of ${n} samples from '${ds.name}', which has only ${ds.n}; ` +
        `use n <= ${ds.n}.`,
    );
  }
  const random = new Rng(seed);
  // Partial Fisher-Yates: only the first n positions need to be settled.
  const order = new Int32Array(ds.n);
  for (let i = 0; i < ds.n; i++) order[i] = i;
  for (let i = 0; i < n; i++) {
    const j = random.int(i, ds.n - 1);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return takeSamples(ds, order.subarray(0, n));
}
