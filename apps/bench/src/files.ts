import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * mkdir -p, one level at a time: Node's recursive mkdir never returns for a path under /proc
 * (it retries ENOENT forever), where this fails at once.
 */
export function makeDirectory(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) mkdirSync(d);
}

/** Writes a file atomically (temporary file, then rename), creating the directory. */
export function writeAtomic(dir: string, name: string, content: string): string {
  makeDirectory(dir);
  const path = join(dir, name);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
  return path;
}
