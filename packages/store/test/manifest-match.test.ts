import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import { assertManifestMatches, StoreError, type StoreIdentity } from '../src/index.js';

const identity: StoreIdentity = {
  modelDigest: 'model-a',
  layoutDigest: 'layout-a',
  d: 10,
  dtype: 'float32',
  trajectoryDigest: 'traj-a',
};

function messageOf(run: () => void): string {
  const error = thrown(run);
  expect(error).toBeInstanceOf(StoreError);
  expect(error.code).toBe('manifest-mismatch');
  return error.message;
}

describe('assertManifestMatches', () => {
  it('accepts a manifest of the same model, layout, trajectory, d and dtype', () => {
    expect(() =>
      assertManifestMatches(
        { ...identity, rowCount: 5, formatVersion: 1 } as StoreIdentity,
        identity,
      ),
    ).not.toThrow();
  });

  it('names the differing field, both values and the fix', () => {
    const message = messageOf(() =>
      assertManifestMatches({ ...identity, trajectoryDigest: 'traj-b' }, identity),
    );
    expect(message).toMatch(/trajectoryDigest: store has "traj-b", expected "traj-a"/);
    expect(message).toMatch(/recompute the approximators for this model\/trajectory/);
    expect(message).toMatch(/open the store that belongs to this model/);
    expect(message).not.toMatch(/modelDigest/);
  });

  it('lists every differing field', () => {
    const message = messageOf(() =>
      assertManifestMatches(
        { ...identity, modelDigest: 'model-b', d: 11, dtype: 'float16' },
        identity,
      ),
    );
    expect(message).toMatch(/modelDigest: store has "model-b", expected "model-a"/);
    expect(message).toMatch(/d: store has 11, expected 10/);
    expect(message).toMatch(/dtype: store has "float16", expected "float32"/);
    expect(message).not.toMatch(/layoutDigest/);
  });
});
