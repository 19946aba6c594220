import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApproximatorStore, StoreIdentity } from '../src/index.js';

export const identity: StoreIdentity = {
  modelDigest: 'sha256:model',
  layoutDigest: 'sha256:layout',
  d: 6,
  dtype: 'float32',
  trajectoryDigest: 'sha256:trajectory',
};

/** A fresh temporary directory, removed by the returned function. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-store-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Every file in `dir` (not recursive: a file store is flat), by name. */
export async function filesIn(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  // Copied out of Node's Buffer pool, so that .buffer holds exactly the file.
  for (const name of (await readdir(dir)).sort()) {
    out.set(name, new Uint8Array(await readFile(join(dir, name))));
  }
  return out;
}

/** Distinct, exactly representable row values per id. */
export function rowsFor(ids: readonly number[], d: number): Float32Array {
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, i) => {
    for (let j = 0; j < d; j++) out[i * d + j] = id * 100 + j + 0.25;
  });
  return out;
}

export async function snapshot(store: ApproximatorStore) {
  const ids = await store.liveIds();
  return {
    manifest: { ...store.manifest },
    ids: Array.from(ids),
    rows: Array.from(await store.readRows(ids)),
  };
}

export function containsBytes(haystacks: Iterable<Uint8Array>, needle: Uint8Array): boolean {
  for (const h of haystacks) {
    if (Buffer.from(h.buffer, h.byteOffset, h.length).indexOf(needle) !== -1) return true;
  }
  return false;
}

export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(
    values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
  );
}

/** The built package: child processes run it, since Node 20 cannot load the TypeScript sources. */
export function distModule(relative: string): string {
  const path = fileURLToPath(new URL(`../dist/${relative}`, import.meta.url));
  if (!existsSync(path)) {
    throw new Error(`${path} is missing; build first: pnpm --filter @lethe/store build`);
  }
  return path;
}
