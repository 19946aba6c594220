import { readFileSync } from 'node:fs';
import { isLetheError, LetheError } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import * as store from '../src/adapter-kit.js';
import { TEST_IDENTITY as identity } from '../src/conformance.js';
import * as main from '../src/index.js';

describe('surfaces', () => {
  it('the main entry holds what users of a store need; the kit and the suite are subpaths', () => {
    expect(Object.keys(main).sort()).toEqual([
      'StoreError',
      'assertManifestMatches',
      'createMemoryStore',
      'openFileStore',
    ]);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(Object.keys(pkg.exports)).toEqual([
      '.',
      './adapter-kit',
      './conformance',
      './package.json',
    ]);
  });

  it('StoreError is a LetheError with its code', () => {
    const err = new main.StoreError('locked', 'busy');
    expect(err).toBeInstanceOf(LetheError);
    expect(isLetheError(err, 'locked')).toBe(true);
    expect(err.name).toBe('StoreError');
  });
});

describe('adapter kit (@lethe/store/adapter-kit)', () => {
  it('exports what an adapter in another package needs', () => {
    for (const name of [
      'validateIdentity',
      'validateId',
      'validateIds',
      'validateRows',
      'validateBlockRange',
      'requireLiveIds',
      'requireNotErasedIds',
      'bytesPerValue',
      'encodeRows',
      'decodeRows',
      'encodeFloat16',
      'decodeFloat16',
    ]) {
      expect(typeof (store as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(store.MAX_STORE_ID).toBe(2 ** 31 - 1);
  });

  it('round-trips rows through the encoding, from bytes at an odd offset too', () => {
    const rows = new Float32Array([0.1, -2.5, 1000.7, 65504]);
    for (const dtype of ['float32', 'float16'] as const) {
      const bytes = store.encodeRows(rows, dtype);
      expect(bytes.length).toBe(rows.length * store.bytesPerValue(dtype));
      const shifted = new Uint8Array(bytes.length + 1);
      shifted.set(bytes, 1);
      const out = new Float32Array(rows.length + 1);
      store.decodeRows(shifted.subarray(1), dtype, out, 1);
      const expected = Array.from(rows, (v) => (dtype === 'float16' ? store.roundToFloat16(v) : v));
      expect(Array.from(out.subarray(1))).toEqual(expected);
    }
  });

  it('rejects with StoreErrors an adapter passes through unchanged', () => {
    expect(() => store.validateIdentity({ ...identity, d: 0 }, 'openTestStore')).toThrow(
      /openTestStore: d must be a positive integer/,
    );
    expect(() => store.validateIds('writeRows', [1, 1])).toThrow(main.StoreError);
    expect(() => store.requireLiveIds('readRows', new Int32Array([7]), () => 'erased')).toThrow(
      /readRows: id 7 was erased/,
    );
  });
});
