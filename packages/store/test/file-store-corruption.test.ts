import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TEST_IDENTITY as identity,
  storeRejection,
  tempDir,
  testRows,
} from '../src/conformance.js';
import { type ManifestBody, serializeManifest, sha256Hex } from '../src/file-store/format.js';
import { openFileStore } from '../src/index.js';
import { filesIn } from './helpers.js';

/** A closed store with two segments; `damage` then breaks it and open must say how. */
async function openAfter(damage: (dir: string, manifest: ManifestBody) => Promise<void>) {
  const { dir, remove } = await tempDir();
  try {
    const store = await openFileStore(dir, identity, { create: true });
    await store.writeRows([0, 1, 2], testRows([0, 1, 2], identity.d));
    await store.writeRows([3, 4], testRows([3, 4], identity.d));
    await store.close();
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    await damage(dir, manifest);
    const before = await filesIn(dir);
    const error = await storeRejection(openFileStore(dir, identity).then((store) => store.close()));
    // A failed open changes nothing on disk and releases its lock: the same error comes again.
    expect(await filesIn(dir)).toEqual(before);
    await expect(openFileStore(dir, identity)).rejects.toThrow(error.message);
    return error;
  } finally {
    await remove();
  }
}

const FIX =
  /Fix: restore the directory from a backup, or recompute the approximators into a new store/;

describe('file store: a damaged store fails to open, naming the file, the problem and the fix', () => {
  it('a flipped byte in a segment (checksum mismatch)', async () => {
    let file = '';
    const error = await openAfter(async (dir, manifest) => {
      file = manifest.segments[1]!.file;
      const bytes = await readFile(join(dir, file));
      bytes[bytes.length - 3]! ^= 0x10;
      await writeFile(join(dir, file), bytes);
    });
    expect(error.code).toBe('corrupt-store');
    expect(error.message).toContain(`${file}: SHA-256 is`);
    expect(error.message).toMatch(/checksum mismatch/);
    expect(error.message).toMatch(FIX);
  });

  it('a truncated segment', async () => {
    const error = await openAfter(async (dir, manifest) => {
      await truncate(join(dir, manifest.segments[0]!.file), 40);
    });
    expect(error.message).toMatch(
      /seg-00000001-0\.bin: 40 bytes, but manifest\.json says \d+ \(truncated/,
    );
    expect(error.message).toMatch(FIX);
  });

  it('a missing segment', async () => {
    const error = await openAfter(async (dir, manifest) => {
      await rm(join(dir, manifest.segments[0]!.file));
    });
    expect(error.message).toMatch(/seg-00000001-0\.bin: missing \(manifest\.json lists it\)/);
  });

  it('a truncated manifest', async () => {
    const error = await openAfter(async (dir) => {
      await truncate(join(dir, 'manifest.json'), 50);
    });
    expect(error.message).toMatch(/manifest\.json: not valid JSON \(50 bytes; truncated/);
    expect(error.message).toMatch(FIX);
  });

  it('an edited manifest (its own checksum no longer matches)', async () => {
    const error = await openAfter(async (dir, manifest) => {
      await writeFile(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, rowCount: 4 }));
    });
    expect(error.message).toMatch(
      /manifest\.json: checksum mismatch \(the file was edited or damaged\)/,
    );
  });

  it('a manifest of a newer format version', async () => {
    const error = await openAfter(async (dir, manifest) => {
      await writeFile(
        join(dir, 'manifest.json'),
        JSON.stringify({ ...manifest, formatVersion: 3 }),
      );
    });
    expect(error.message).toMatch(/formatVersion 3, but this @lethe\/store reads versions 1 and 2/);
  });

  it('a segment whose header disagrees with the manifest, checksums intact', async () => {
    const error = await openAfter(async (dir, manifest) => {
      const entry = manifest.segments[0]!;
      const bytes = await readFile(join(dir, entry.file));
      new DataView(bytes.buffer, bytes.byteOffset).setUint32(16, 3, true); // d
      await writeFile(join(dir, entry.file), bytes);
      const segments = [{ ...entry, sha256: sha256Hex(bytes) }, ...manifest.segments.slice(1)];
      const { manifestSha256: _, ...body } = manifest as ManifestBody & { manifestSha256: string };
      await writeFile(join(dir, 'manifest.json'), serializeManifest({ ...body, segments }));
    });
    expect(error.message).toMatch(/seg-00000001-0\.bin: header d is 3, the manifest says 6/);
  });

  it('two segments holding the same id', async () => {
    const error = await openAfter(async (dir, manifest) => {
      const { manifestSha256: _, ...body } = manifest as ManifestBody & { manifestSha256: string };
      const first = body.segments[0]!;
      await writeFile(join(dir, 'seg-00000009-0.bin'), await readFile(join(dir, first.file)));
      const segments = [...body.segments, { ...first, file: 'seg-00000009-0.bin' }];
      await writeFile(join(dir, 'manifest.json'), serializeManifest({ ...body, segments }));
    });
    expect(error.message).toMatch(
      /seg-00000009-0\.bin: holds id 0, which seg-00000001-0\.bin holds too/,
    );
  });
});
