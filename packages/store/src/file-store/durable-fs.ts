import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMP_SUFFIX } from './format.js';

/** Points in a commit where a test may simulate a crash (see file-store tests). */
export type CommitStep =
  | 'segment-tmp-partial'
  | 'segment-tmp-written'
  | 'segments-renamed'
  | 'manifest-tmp-written'
  | 'manifest-renamed'
  | 'old-segments-removed';

export type CommitHook = (step: CommitStep) => void | Promise<void>;

/**
 * Writes `name`.tmp with the chunks and fsyncs it. The caller renames it into place: a rename
 * is atomic, so readers see the old file or the complete new one, never a torn one.
 */
export async function writeTempFile(
  dir: string,
  name: string,
  chunks: readonly (Uint8Array | string)[],
  hook?: CommitHook,
): Promise<void> {
  const handle = await open(join(dir, name + TEMP_SUFFIX), 'w');
  try {
    for (const [i, chunk] of chunks.entries()) {
      await handle.writeFile(chunk); // unlike write(), loops until every byte is written
      if (i === 0 && chunks.length > 1) {
        await handle.datasync();
        await hook?.('segment-tmp-partial');
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function renameTempFile(dir: string, name: string): Promise<void> {
  await rename(join(dir, name + TEMP_SUFFIX), join(dir, name));
}

/** Makes renames and unlinks in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows, some network file systems) cannot fsync a directory.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') {
      throw error;
    }
  } finally {
    await handle?.close();
  }
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Overwrites a file with zeros, syncs, then deletes it: unlinking alone leaves the bytes in the
 * freed blocks until they are reused, and these bytes derive from forgotten samples.
 */
export async function scrubAndRemove(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    const zeros = new Uint8Array(Math.min(size, 1 << 20));
    for (let at = 0; at < size; at += zeros.length) {
      await handle.write(zeros, 0, Math.min(zeros.length, size - at), at);
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rm(path, { force: true });
}

export async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
