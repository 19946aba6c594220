import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApproximatorStore, StoreIdentity } from '@lethe/store';

export const identity: StoreIdentity = {
  modelDigest: 'sha256:model',
  layoutDigest: 'sha256:layout',
  d: 6,
  dtype: 'float32',
  trajectoryDigest: 'sha256:trajectory',
};

/** A fresh temporary directory and a database path in it; `remove` deletes both. */
export async function tempDb(): Promise<{
  dir: string;
  path: string;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-store-sqlite-test-'));
  return {
    dir,
    path: join(dir, 'approximators.sqlite'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The files SQLite keeps for a database: the database, its log, shared memory and journal. */
export const SIDE_FILES = ['', '-wal', '-shm', '-journal'] as const;

/** Every byte at rest: the database file and whichever of its side files exist, by suffix. */
export async function filesOf(path: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for (const suffix of SIDE_FILES) {
    try {
      // Copied out of Node's Buffer pool, so that .buffer holds exactly the file.
      out.set(suffix, new Uint8Array(await readFile(path + suffix)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
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
    throw new Error(`${path} is missing; build first: pnpm --filter @lethe/store-sqlite build`);
  }
  return path;
}
