import { AssertionError } from 'node:assert';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import {
  builtModule,
  type ConformanceTestApi,
  describeStoreConformance,
  storeRejection,
  tempDir,
} from '../src/conformance.js';
import { createMemoryStore, StoreError } from '../src/index.js';

describe('test helpers of @lethe/store/conformance', () => {
  it('tempDir makes a fresh directory and removes it with its files', async () => {
    const a = await tempDir('lethe-helper-test-');
    const b = await tempDir('lethe-helper-test-');
    expect(a.dir).not.toBe(b.dir);
    expect(a.dir).toMatch(/lethe-helper-test-/);
    await writeFile(join(a.dir, 'x'), 'y');
    await a.remove();
    await b.remove();
    expect(existsSync(a.dir) || existsSync(b.dir)).toBe(false);
  });

  it('storeRejection returns the StoreError, and fails on a resolve or another error', async () => {
    const error = await storeRejection(Promise.reject(new StoreError('locked', 'busy')));
    expect(error.code).toBe('locked');
    await expect(storeRejection(Promise.resolve(1))).rejects.toThrow(
      /expected the call to reject with a StoreError; it resolved/,
    );
    const other = storeRejection(Promise.reject(new TypeError('oops')));
    await expect(other).rejects.toBeInstanceOf(AssertionError);
    await expect(storeRejection(Promise.reject(new TypeError('oops')))).rejects.toThrow(
      /expected a StoreError, got TypeError: oops/,
    );
  });

  it('builtModule returns the file URL of a build, or names the build command', () => {
    const here = new URL(import.meta.url);
    expect(builtModule(here, 'pnpm build')).toBe(here.href);
    const missing = new URL('../dist/no-such-module.js', import.meta.url);
    expect(() => builtModule(missing, 'pnpm --filter my-adapter build')).toThrow(
      /no-such-module\.js is missing.*build first: pnpm --filter my-adapter build/,
    );
    const error = thrown(() => builtModule(missing, 'pnpm build'));
    expect(error).toBeInstanceOf(StoreError);
    expect(error.code).toBe('not-found');
  });

  it('the suite names what a persistent harness lacks, and the fix', async () => {
    // A runner that collects the tests instead of running them.
    const tests = new Map<string, () => Promise<void>>();
    const api: ConformanceTestApi = {
      describe: (_name, body) => body(),
      it: (name, body) => tests.set(name, body),
      expect, // not reached: the harness check comes first
    };
    describeStoreConformance(
      'no reopen',
      async (identity) => ({ store: createMemoryStore(identity) }),
      api,
      { dtypes: ['float32'], persistent: true },
    );
    const reopenTest = tests.get('keeps rows, erased ids and the manifest across a reopen');
    expect(reopenTest).toBeDefined();
    const error = await storeRejection(reopenTest!());
    expect(error.code).toBe('invalid-argument');
    expect(error.message).toMatch(/harness has no reopen\(\); return reopen from the factory/);
  });
});
