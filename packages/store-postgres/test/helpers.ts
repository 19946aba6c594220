// Helpers of the Postgres store's tests; those every adapter's tests share (temporary
// directories, test rows, snapshots, rejections) are exported by @lethe/store/conformance.
import { cp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { builtModule, tempDir } from '@lethe/store/conformance';
import { PGLITE_START_PARAMS } from '../src/open-postgres-store.js';

let template: Promise<{ dir: string; remove: () => Promise<void> }> | undefined;

/**
 * A fresh PGlite data directory with no store in it. initdb takes seconds, so it runs once per
 * test file, into a template that each call copies.
 */
export async function tempDataDir(): Promise<{
  dir: string;
  dataDir: string;
  remove: () => Promise<void>;
}> {
  template ??= (async () => {
    const made = await tempDir('lethe-store-postgres-template-');
    const db = await PGlite.create({ dataDir: made.dir, startParams: [...PGLITE_START_PARAMS] });
    await db.close();
    return made;
  })();
  const { dir: source } = await template;
  const { dir, remove } = await tempDir('lethe-store-postgres-test-');
  const dataDir = join(dir, 'pgdata');
  await cp(source, dataDir, { recursive: true });
  return { dir, dataDir, remove };
}

/** Every file under `dir`, by path relative to it: every byte a data directory keeps at rest. */
export async function filesUnder(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const walk = async (at: string) => {
    for (const entry of await readdir(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile())
        out.set(path.slice(dir.length + 1), new Uint8Array(await readFile(path)));
    }
  };
  await walk(dir);
  return out;
}

/** The file URL of a module of the built package, for child processes. */
export function distModule(relative: string): string {
  return builtModule(
    new URL(`../dist/${relative}`, import.meta.url),
    'pnpm --filter @lethe/store-postgres build',
  );
}
