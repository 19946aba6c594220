import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { LetheError } from '@lethe/core';

/** Reads a whole file, naming the file and the likely fix when that fails. */
export function readFileBytes(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new LetheError('not-found', `${what} not found: ${path}. Check the path.`);
    if (code === 'EISDIR')
      throw new LetheError(
        'invalid-argument',
        `${what} ${path} is a directory, not a file; pass the path of the file itself.`,
      );
    throw new LetheError(
      'io',
      `Cannot read ${what} ${path}: ${(error as Error).message}; check its permissions.`,
    );
  }
}

/** True when the bytes start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Reads a file and gunzips it when its content is gzip, whatever its name says: downloads are
 * often renamed or decompressed by browsers without the extension following.
 */
export function readMaybeGzipped(path: string, what: string): Buffer {
  const bytes = readFileBytes(path, what);
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new LetheError(
      'invalid-file',
      `${what} ${path} is gzip data that does not decompress (${(error as Error).message}); ` +
        'the file is probably truncated or corrupt. Download it again.',
    );
  }
}
