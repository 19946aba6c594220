// Helpers of the file store's tests; those every adapter's tests share (temporary directories,
// test rows, snapshots, rejections) are exported by the conformance subpath.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { builtModule } from '../src/conformance.js';

/** Every file in `dir` (not recursive: a file store is flat), by name. */
export async function filesIn(dir: string): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  // Copied out of Node's Buffer pool, so that .buffer holds exactly the file.
  for (const name of (await readdir(dir)).sort()) {
    out.set(name, new Uint8Array(await readFile(join(dir, name))));
  }
  return out;
}

/** The file URL of a module of the built package, for child processes. */
export function distModule(relative: string): string {
  return builtModule(
    new URL(`../dist/${relative}`, import.meta.url),
    'pnpm --filter @lethe/store build',
  );
}
