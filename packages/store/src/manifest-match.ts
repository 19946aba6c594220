import { StoreError } from './errors.js';
import type { StoreIdentity } from './types.js';

const WHY: Record<keyof StoreIdentity, string> = {
  modelDigest: 'the rows were computed for another model',
  layoutDigest:
    'the rows follow another flat parameter layout, so their entries would land on the wrong weights',
  trajectoryDigest: 'the rows were computed along another training trajectory',
  d: 'the rows have another length than the model has parameters',
  dtype: 'the rows are kept at another precision',
};

/**
 * Throws unless `actual` (a store's manifest) belongs to the model, layout, trajectory, d and
 * dtype in `expected`. Approximators of another model or trajectory would silently produce a
 * wrong unlearning update, so this is a hard failure, naming every field that differs.
 */
export function assertManifestMatches(actual: StoreIdentity, expected: StoreIdentity): void {
  const keys = Object.keys(WHY) as (keyof StoreIdentity)[];
  const differences = keys
    .filter((key) => actual[key] !== expected[key])
    .map(
      (key) =>
        `  - ${key}: store has ${JSON.stringify(actual[key])}, expected ${JSON.stringify(expected[key])} (${WHY[key]})`,
    );
  if (differences.length === 0) return;
  throw new StoreError(
    'manifest-mismatch',
    [
      'Approximator store does not match the expected model/trajectory:',
      ...differences,
      'Fix: open the store that belongs to this model and trajectory, or recompute the approximators for this model/trajectory into a new store.',
    ].join('\n'),
  );
}
