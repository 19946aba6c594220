import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The built package: child processes run it, since Node 20 cannot load the TypeScript sources. */
export function distModule(relative: string): string {
  const path = fileURLToPath(new URL(`../dist/${relative}`, import.meta.url));
  if (!existsSync(path)) {
    throw new Error(`${path} is missing; build first: pnpm --filter @lethe/store-sqlite build`);
  }
  return path;
}

// Shared with every adapter's tests (the conformance subpath).
export {
  containsBytes,
  float32Bytes,
  snapshotStore as snapshot,
  TEST_IDENTITY as identity,
  testRows as rowsFor,
} from '@lethe/store/conformance';
