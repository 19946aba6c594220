import { readFile, truncate, writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import {
  float32Bytes,
  TEST_IDENTITY as identity,
  storeRejection,
  testRows,
} from '@lethe/store/conformance';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.js';
import { filesOf, tempDb } from './helpers.js';

const d = identity.d;
const IDS = [0, 1, 2, 3, 4];

/** A closed store with rows 0..4 (and id 9 erased); `damage` then breaks it. */
async function damagedStore(damage: (path: string) => Promise<void>) {
  const { path, remove } = await tempDb();
  const store = await openSqliteStore(path, identity, { create: true });
  await store.writeRows([...IDS, 9], testRows([...IDS, 9], d));
  await store.erase([9]);
  await store.close();
  await damage(path);
  return { path, remove };
}

/** Opening must fail with a StoreError; a failed open changes nothing, so it fails again alike. */
async function openAfter(damage: (path: string) => Promise<void>) {
  const { path, remove } = await damagedStore(damage);
  try {
    const before = await filesOf(path);
    const error = await storeRejection(
      openSqliteStore(path, identity).then((store) => store.close()),
    );
    expect(await filesOf(path)).toEqual(before);
    await expect(openSqliteStore(path, identity)).rejects.toThrow(error.message);
    return error;
  } finally {
    await remove();
  }
}

/** Edits the database behind the store's back with a plain connection. */
function edit(sql: string, ...params: unknown[]) {
  return async (path: string) => {
    const db = new Database(path);
    db.prepare(sql).run(...params);
    db.close();
  };
}

/** Flips one bit in the middle of the row of `id`, found by its bytes in the database file. */
function flipRowByte(id: number) {
  return async (path: string) => {
    const bytes = await readFile(path);
    const at = bytes.indexOf(float32Bytes(testRows([id], d)));
    expect(at).toBeGreaterThan(0);
    bytes[at + 10]! ^= 0x04;
    await writeFile(path, bytes);
  };
}

const FIX = /Fix: restore the database file from a backup, or recompute the approximators/;

describe('sqlite store: a damaged database fails to open, naming the problem and the fix', () => {
  it('a changed byte in a row (CRC-32 mismatch)', async () => {
    const error = await openAfter(flipRowByte(3));
    expect(error.code).toBe('corrupt-store');
    expect(error.message).toMatch(
      /the row of id 3 in lethe_rows has CRC-32 \d+, but \d+ was stored/,
    );
    expect(error.message).toMatch(/checksum mismatch/);
    expect(error.message).toMatch(FIX);
  });

  it('a truncated file', async () => {
    const error = await openAfter(async (path) => {
      const { length } = await readFile(path);
      await truncate(path, Math.floor(length / 2));
    });
    expect(error.code).toBe('corrupt-store');
    expect(error.message).toMatch(FIX);
  });

  it('a file cut to a few bytes', async () => {
    const error = await openAfter((path) => truncate(path, 60));
    expect(error.code).toBe('corrupt-store');
    expect(error.message).toMatch(/SQLite reports "database disk image is malformed"/);
    expect(error.message).toMatch(FIX);
  });

  it('a file that is not a database at all', async () => {
    const error = await openAfter((path) => writeFile(path, Buffer.alloc(8192, 'not a database ')));
    expect(error.code).toBe('corrupt-store');
    expect(error.message).toMatch(/not a SQLite database/);
    expect(error.message).toMatch(FIX);
  });

  it('a missing table', async () => {
    const error = await openAfter(edit('DROP TABLE lethe_erased'));
    expect(error.message).toMatch(/damaged: table lethe_erased is missing/);
    expect(error.message).toMatch(FIX);
  });

  it('a row of the wrong length', async () => {
    const short = Buffer.from([1, 2, 3, 4]);
    const error = await openAfter(
      edit('UPDATE lethe_rows SET row = ?, crc32 = ? WHERE id = 2', short, crc32(short)),
    );
    expect(error.message).toMatch(
      /the row of id 2 in lethe_rows is 4 bytes, but d = 6 float32 values take 24 bytes/,
    );
  });

  it('a row count that does not add up', async () => {
    const error = await openAfter(edit('UPDATE lethe_manifest SET row_count = 9'));
    expect(error.message).toMatch(/lethe_manifest\.row_count is 9 but lethe_rows holds 5 rows/);
  });

  it('an erased id that has a row again', async () => {
    const error = await openAfter(edit('INSERT INTO lethe_erased (id) VALUES (4)'));
    expect(error.message).toMatch(/id 4 is both in lethe_rows and in lethe_erased/);
  });

  it('a manifest that is not a Lethe manifest', async () => {
    const format = await openAfter(edit("UPDATE lethe_manifest SET format = 'other'"));
    expect(format.message).toMatch(/lethe_manifest: format is "other"/);
    const version = await openAfter(edit('UPDATE lethe_manifest SET format_version = 3'));
    expect(version.message).toMatch(/format version 3, but this version .* reads versions 1 and 2/);
    const application = await openAfter(async (path) => {
      const db = new Database(path);
      db.pragma('application_id = 7');
      db.close();
    });
    expect(application.message).toMatch(/application_id is 7, not 1279611976/);
  });
});

describe('sqlite store opened with { verify: false }', () => {
  it('opens a store with a damaged row and fails when that row is read, naming it', async () => {
    const { path, remove } = await damagedStore(flipRowByte(3));
    try {
      const store = await openSqliteStore(path, identity, { verify: false });
      try {
        expect(await store.readRows([4, 1])).toEqual(testRows([4, 1], d));
        const reads = [
          () => store.readRows([1, 3]),
          () => store.readRows([3]),
          () => store.readBlock(2, 2),
        ];
        for (const read of reads) {
          const error = await storeRejection(read());
          expect(error.code).toBe('corrupt-store');
          expect(error.message).toMatch(/the row of id 3 .*checksum mismatch/);
        }
      } finally {
        await store.close();
      }
      await expect(openSqliteStore(path, identity)).rejects.toThrow(/id 3/);
    } finally {
      await remove();
    }
  });

  it('still checks the schema, the manifest and the row count', async () => {
    const { path, remove } = await damagedStore(edit('UPDATE lethe_manifest SET row_count = 2'));
    try {
      await expect(openSqliteStore(path, identity, { verify: false })).rejects.toThrow(
        /row_count is 2 but lethe_rows holds 5 rows/,
      );
    } finally {
      await remove();
    }
  });
});
