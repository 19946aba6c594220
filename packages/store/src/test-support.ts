// Helpers for an adapter's own tests beside the conformance suite (crash, corruption and
// erasure tests): a temporary directory, an identity, recognisable rows, a snapshot of
// everything readable, the StoreError a call rejects with, a search of the bytes at rest for a
// row that must be gone, and the built module a child process loads.
import { AssertionError } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StoreError } from './errors.js';
import type { ApproximatorStore, StoreIdentity } from './types.js';

/** A fresh temporary directory; `remove` deletes it and everything in it. */
export async function tempDir(
  prefix = 'lethe-store-test-',
): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** An identity for tests: d = 6, float32. */
export const TEST_IDENTITY: StoreIdentity = {
  modelDigest: 'sha256:model',
  layoutDigest: 'sha256:layout',
  d: 6,
  dtype: 'float32',
  trajectoryDigest: 'sha256:trajectory',
};

/**
 * Distinct rows, recognisable in a dump: value j of id's row is id * 100 + j + 0.25. float32
 * keeps them exactly while they stay below 2^22; float16 only below 512 (ids up to 5 at d = 6).
 */
export function testRows(ids: readonly number[], d: number): Float32Array {
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, i) => {
    for (let j = 0; j < d; j++) out[i * d + j] = id * 100 + j + 0.25;
  });
  return out;
}

/** Everything a reader sees: the manifest, the live ids and their rows. */
export async function snapshotStore(store: ApproximatorStore) {
  const ids = await store.liveIds();
  return {
    manifest: { ...store.manifest },
    ids: Array.from(ids),
    rows: Array.from(await store.readRows(ids)),
  };
}

/**
 * The StoreError `promise` rejects with, for checking its code and message. A promise that
 * resolves, or rejects with anything else, fails the test (an AssertionError saying which).
 */
export async function storeRejection(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StoreError) return error;
    throw new AssertionError({
      message: `expected a StoreError, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      actual: error,
      expected: StoreError,
    });
  }
  throw new AssertionError({
    message: 'expected the call to reject with a StoreError; it resolved',
  });
}

/** Whether any of the byte arrays contains `needle` (an erased row must be in none). */
export function containsBytes(haystacks: Iterable<Uint8Array>, needle: Uint8Array): boolean {
  for (const h of haystacks) {
    if (Buffer.from(h.buffer, h.byteOffset, h.length).indexOf(needle) !== -1) return true;
  }
  return false;
}

/** The little-endian bytes of float32 values (a copy). */
export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(
    values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
  );
}

/**
 * The file URL of a module of a package's build, for a child process to import (Node cannot
 * load the TypeScript sources there), e.g. `builtModule(new URL('../dist/index.js',
 * import.meta.url), 'pnpm --filter my-adapter build')` from the package's test folder. Throws
 * a StoreError (code 'not-found') naming the build command when the build is missing.
 */
export function builtModule(url: URL, buildCommand: string): string {
  if (!existsSync(fileURLToPath(url))) {
    throw new StoreError(
      'not-found',
      `${fileURLToPath(url)} is missing: tests that run the adapter in a child process load its build; build first: ${buildCommand}`,
    );
  }
  return url.href;
}
