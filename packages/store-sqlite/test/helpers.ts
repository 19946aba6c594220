// Helpers of the SQLite store's tests; those every adapter's tests share (temporary
// directories, test rows, snapshots, rejections) are exported by @lethe/store/conformance.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtModule, tempDir } from '@lethe/store/conformance';

/** A fresh temporary directory and a database path in it; `remove` deletes both. */
export async function tempDb(): Promise<{
  dir: string;
  path: string;
  remove: () => Promise<void>;
}> {
  const { dir, remove } = await tempDir('lethe-store-sqlite-test-');
  return { dir, path: join(dir, 'approximators.sqlite'), remove };
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

/** The file URL of a module of the built package, for child processes. */
export function distModule(relative: string): string {
  return builtModule(
    new URL(`../dist/${relative}`, import.meta.url),
    'pnpm --filter @lethe/store-sqlite build',
  );
}
