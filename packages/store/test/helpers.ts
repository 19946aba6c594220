import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** The built package: child processes run it, since Node 20 cannot load the TypeScript sources. */
export function distModule(relative: string): string {
  const path = fileURLToPath(new URL(`../dist/${relative}`, import.meta.url));
  if (!existsSync(path)) {
    throw new Error(`${path} is missing; build first: pnpm --filter @lethe/store build`);
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
} from '../src/conformance.js';
