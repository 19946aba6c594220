import { describe, expect, it } from 'vitest';
import { describeStoreConformance } from '../src/conformance.js';
import { createMemoryStore, type StoreIdentity } from '../src/index.js';

describeStoreConformance('memory', async (identity) => ({ store: createMemoryStore(identity) }), {
  describe,
  it,
  expect,
});

describe('createMemoryStore', () => {
  const identity: StoreIdentity = {
    modelDigest: 'm',
    layoutDigest: 'l',
    d: 4,
    dtype: 'float32',
    trajectoryDigest: 't',
  };

  it('rejects a bad identity with the field and the fix', () => {
    expect(() => createMemoryStore({ ...identity, d: 0 })).toThrow(/d must be a positive integer/);
    expect(() => createMemoryStore({ ...identity, d: 2.5 })).toThrow(/d must be/);
    expect(() => createMemoryStore({ ...identity, modelDigest: '' })).toThrow(
      /modelDigest must be a non-empty string/,
    );
    expect(() =>
      createMemoryStore({ ...identity, dtype: 'float64' as unknown as 'float32' }),
    ).toThrow(/dtype must be 'float32' or 'float16'/);
  });

  it('reports formatVersion 1 and a frozen manifest snapshot', async () => {
    const store = createMemoryStore(identity);
    const before = store.manifest;
    await store.writeRows([0], new Float32Array(4));
    expect(before.rowCount).toBe(0);
    expect(store.manifest.rowCount).toBe(1);
    expect(store.manifest.formatVersion).toBe(1);
    expect(Object.isFrozen(store.manifest)).toBe(true);
  });
});
