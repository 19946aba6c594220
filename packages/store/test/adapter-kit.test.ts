import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isLetheError, LetheError } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import * as store from '../src/adapter-kit.js';
import * as conformance from '../src/conformance.js';
import * as main from '../src/index.js';

const identity = conformance.TEST_IDENTITY;

describe('surfaces', () => {
  it('the main entry holds what users of a store need; the kit and the suite are subpaths', () => {
    expect(Object.keys(main).sort()).toEqual([
      'StoreError',
      'assertManifestMatches',
      'createMemoryStore',
      'openFileStore',
    ]);
    expect(Object.keys(store).sort()).toEqual([
      'FLOAT16_MAX',
      'LedgerBook',
      'MAX_STORE_ID',
      'bytesPerValue',
      'checkHeadWeights',
      'decodeFloat16',
      'decodeRows',
      'encodeFloat16',
      'encodeRows',
      'requireLiveIds',
      'requireNotErasedIds',
      'roundToFloat16',
      'storeIoError',
      'validateBlockRange',
      'validateId',
      'validateIdentity',
      'validateIds',
      'validateRows',
      'validateWrite',
    ]);
    expect(Object.keys(conformance).sort()).toEqual([
      'TEST_IDENTITY',
      'builtModule',
      'containsBytes',
      'describeStoreConformance',
      'float32Bytes',
      'snapshotStore',
      'storeRejection',
      'tempDir',
      'testRows',
    ]);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(Object.keys(pkg.exports)).toEqual([
      '.',
      './adapter-kit',
      './conformance',
      './package.json',
    ]);
  });

  it('Node resolves the entry and the two subpaths to the build, and nothing else', () => {
    const require = createRequire(import.meta.url);
    const dist = fileURLToPath(new URL('../dist/', import.meta.url));
    expect(require.resolve('@lethe/store')).toBe(join(dist, 'index.js'));
    expect(require.resolve('@lethe/store/adapter-kit')).toBe(join(dist, 'adapter-kit.js'));
    expect(require.resolve('@lethe/store/conformance')).toBe(join(dist, 'conformance.js'));
    for (const internal of ['@lethe/store/validate', '@lethe/store/dist/validate.js']) {
      expect(() => require.resolve(internal)).toThrow(/not defined by "exports"/);
    }
  });

  it('StoreError is a LetheError with its code', () => {
    const cause = new Error('EBUSY');
    const err = new main.StoreError('locked', 'busy', { cause });
    expect(err).toBeInstanceOf(LetheError);
    expect(err).toBeInstanceOf(main.StoreError);
    expect(err).toBeInstanceOf(Error);
    expect(isLetheError(err, 'locked')).toBe(true);
    expect(err.name).toBe('StoreError');
    expect([err.code, err.message, err.cause]).toEqual(['locked', 'busy', cause]);
    // What a store throws is both.
    let thrown: unknown;
    try {
      main.createMemoryStore({ ...identity, d: 0 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(main.StoreError);
    expect(isLetheError(thrown, 'invalid-argument')).toBe(true);
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

  it("storeIoError turns the file system's errors into 'io' StoreErrors and passes others", () => {
    const full = Object.assign(new Error("ENOSPC: no space left on device, write '/s/x'"), {
      code: 'ENOSPC',
      syscall: 'write',
    });
    const error = store.storeIoError('writeRows', '/s', full);
    expect(error).toBeInstanceOf(main.StoreError);
    expect((error as main.StoreError).code).toBe('io');
    expect((error as Error).message).toBe(
      "writeRows: approximator store /s: ENOSPC: no space left on device, write '/s/x'; the disk is full; free space and retry.",
    );
    expect((error as Error).cause).toBe(full);
    const odd = Object.assign(new Error('EIO: i/o error'), { code: 'EIO', syscall: 'read' });
    expect((store.storeIoError('readRows', '/s', odd) as Error).message).toMatch(
      /EIO: i\/o error; check the path, its permissions and the disk\.$/,
    );
    const storeError = new main.StoreError('locked', 'busy');
    expect(store.storeIoError('open', '/s', storeError)).toBe(storeError);
    const bug = new TypeError('x is undefined');
    expect(store.storeIoError('open', '/s', bug)).toBe(bug);
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
