import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { StoreIdentity } from '@lethe/store';
import {
  containsBytes,
  float32Bytes,
  TEST_IDENTITY as identity,
  snapshotStore,
  storeRejection,
  testRows,
} from '@lethe/store/conformance';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, SQLITE_FORMAT_VERSION } from '../src/index.js';
import { uniqueRows } from './fixtures/rows.mjs';
import { distModule, filesOf, tempDb } from './helpers.js';

/** Runs `body` with a database path and a store created there; cleans both up. */
async function withStore(
  body: (path: string, store: Awaited<ReturnType<typeof openSqliteStore>>) => Promise<void>,
  id: StoreIdentity = identity,
  options: { pageSize?: number } = {},
) {
  const { path, remove } = await tempDb();
  const store = await openSqliteStore(path, id, { ...options, create: true });
  try {
    await body(path, store);
  } finally {
    await store.close();
    await remove();
  }
}

describe('openSqliteStore', () => {
  it('refuses a missing store unless asked to create it, saying how', async () => {
    const { dir, path, remove } = await tempDb();
    try {
      const missing = await storeRejection(openSqliteStore(path, identity));
      expect(missing.code).toBe('not-found');
      expect(missing.message).toMatch(/does not exist.*\{ create: true \}/);
      await writeFile(path, '');
      const empty = await storeRejection(openSqliteStore(path, identity));
      expect(empty.code).toBe('not-found');
      expect(empty.message).toMatch(/empty SQLite database.*\{ create: true \}/);
      const directory = await storeRejection(openSqliteStore(dir, identity, { create: true }));
      expect(directory.message).toMatch(/is not a file/);
      // create makes the directories on the way.
      const nested = join(dir, 'a', 'b', 'store.sqlite');
      await (await openSqliteStore(nested, identity, { create: true })).close();
      const reopened = await openSqliteStore(nested, identity);
      expect(reopened.manifest.rowCount).toBe(0);
      await reopened.close();
    } finally {
      await remove();
    }
  });

  it("turns the file system's errors into StoreErrors naming the path and the fix", async () => {
    const { dir, remove } = await tempDb();
    try {
      const file = join(dir, 'notes.txt');
      await writeFile(file, 'mine');
      for (const create of [false, true]) {
        const path = join(file, 'store.sqlite'); // a part of the path is a file
        const error = await storeRejection(openSqliteStore(path, identity, { create }));
        expect(error.code).toBe('io');
        expect(error.message).toMatch(/^openSqliteStore: approximator store .*notes\.txt\//);
        expect(error.message).toMatch(/ENOTDIR.*a part of the path is a file.*check the path/);
        expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOTDIR');
      }
    } finally {
      await remove();
    }
  });

  it('refuses a SQLite database that holds something else, and leaves it alone', async () => {
    const { path, remove } = await tempDb();
    try {
      const other = new Database(path);
      other.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')");
      other.close();
      const before = await filesOf(path);
      const opened = await storeRejection(openSqliteStore(path, identity));
      expect(opened.code).toBe('not-found');
      expect(opened.message).toMatch(/holds no approximator store.*\["notes"\]/);
      const created = await storeRejection(openSqliteStore(path, identity, { create: true }));
      expect(created.message).toMatch(/create the store in a new file/);
      expect(await filesOf(path)).toEqual(before);
    } finally {
      await remove();
    }
  });

  it('refuses a store of another model, trajectory or size, naming fields, values and fix', async () => {
    await withStore(async (path, store) => {
      await store.writeRows([1], testRows([1], identity.d));
      await store.close();
      const error = await storeRejection(
        openSqliteStore(path, { ...identity, trajectoryDigest: 'sha256:other', d: 7 }),
      );
      expect(error.code).toBe('manifest-mismatch');
      expect(error.message).toMatch(
        /trajectoryDigest: store has "sha256:trajectory", expected "sha256:other"/,
      );
      expect(error.message).toMatch(/d: store has 6, expected 7/);
      expect(error.message).toMatch(/recompute the approximators/);
      const dtype = await storeRejection(openSqliteStore(path, { ...identity, dtype: 'float16' }));
      expect(dtype.message).toMatch(/dtype: store has "float32", expected "float16"/);
      // The failed opens released the database: the right identity still opens.
      const reopened = await openSqliteStore(path, identity);
      expect(reopened.manifest.rowCount).toBe(1);
      await reopened.close();
    });
  });

  it('rejects a bad identity or page size before touching the disk', async () => {
    const { path, remove } = await tempDb();
    try {
      const d = await storeRejection(
        openSqliteStore(path, { ...identity, d: 0 }, { create: true }),
      );
      expect(d.message).toMatch(/openSqliteStore: d must be a positive integer/);
      const page = await storeRejection(
        openSqliteStore(path, identity, { create: true, pageSize: 3000 }),
      );
      expect(page.message).toMatch(/pageSize must be a power of two/);
      expect((await filesOf(path)).size).toBe(0);
    } finally {
      await remove();
    }
  });

  it('locks the database: a second open, here or in another process, fails until close', async () => {
    await withStore(async (path, store) => {
      const here = await storeRejection(openSqliteStore(path, identity));
      expect(here.code).toBe('locked');
      expect(here.message).toMatch(/already open in another connection.*close it there first/);
      const url = distModule('index.js');
      const script = `import(${JSON.stringify(url)}).then(({ openSqliteStore }) =>
        openSqliteStore(${JSON.stringify(path)}, ${JSON.stringify(identity)})).then(
        () => console.log('opened'), (e) => console.log(e.code))`;
      const other = () => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(other().stdout.trim()).toBe('locked');
      await store.writeRows([1], testRows([1], identity.d)); // the failed opens changed nothing
      await store.close();
      expect(other().stdout.trim()).toBe('opened');
      const again = await openSqliteStore(path, identity);
      expect(Array.from(await again.liveIds())).toEqual([1]);
      await again.close();
    });
  });
});

describe('sqlite store layout', () => {
  it('keeps the manifest, rows as little-endian BLOBs with their CRC-32, and erased ids', async () => {
    await withStore(async (path, store) => {
      await store.writeRows([7, 2, 5], testRows([7, 2, 5], identity.d));
      await store.erase([5]);
      await store.close();
      expect([...(await filesOf(path)).keys()]).toEqual(['']); // closing removed the log
      const db = new Database(path, { readonly: true });
      try {
        expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(db.pragma('application_id', { simple: true })).toBe(0x4c455448);
        expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_FORMAT_VERSION);
        expect(db.prepare('SELECT * FROM lethe_manifest').all()).toEqual([
          {
            singleton: 1,
            format: 'lethe-approximator-store-sqlite',
            format_version: 2,
            model_digest: identity.modelDigest,
            layout_digest: identity.layoutDigest,
            trajectory_digest: identity.trajectoryDigest,
            d: identity.d,
            dtype: 'float32',
            row_count: 2,
          },
        ]);
        const rows = db.prepare('SELECT id, crc32, row FROM lethe_rows ORDER BY id').all() as {
          id: number;
          crc32: number;
          row: Buffer;
        }[];
        expect(rows.map((r) => r.id)).toEqual([2, 7]);
        rows.forEach(({ id, crc32: crc, row }) => {
          expect(new Uint8Array(row)).toEqual(float32Bytes(testRows([id], identity.d)));
          expect(crc).toBe(crc32(row));
        });
        expect(db.prepare('SELECT id FROM lethe_erased').pluck().all()).toEqual([5]);
      } finally {
        db.close();
      }
    });
  });

  it('opens a version 1 store (no ledger tables) by adding them, and commits deletions in it', async () => {
    const { path, remove } = await tempDb();
    try {
      const store = await openSqliteStore(path, identity, { create: true });
      await store.writeRows([1, 2], testRows([1, 2], identity.d));
      await store.close();
      const db = new Database(path);
      db.exec('DROP TABLE lethe_ledger; DROP TABLE lethe_head');
      db.prepare('UPDATE lethe_manifest SET format_version = 1').run();
      db.pragma('user_version = 1');
      db.close();
      const upgraded = await openSqliteStore(path, identity);
      expect(await upgraded.deletions()).toEqual([]);
      const weights = new Float32Array(identity.d).fill(0.5);
      await upgraded.commitDeletion({
        request: 0,
        requestId: 'r0',
        ids: [2],
        mode: 'online',
        weights,
        // The zero weights' bytes are the same in either byte order.
        weightsBeforeSha256: createHash('sha256')
          .update(new Uint8Array(4 * identity.d))
          .digest('hex'),
        erase: [2],
      });
      await upgraded.close();
      const again = await openSqliteStore(path, identity);
      expect((await again.deletions()).map((e) => e.requestId)).toEqual(['r0']);
      expect(await again.headWeights()).toEqual(weights);
      expect(again.manifest.formatVersion).toBe(2);
      await again.close();
    } finally {
      await remove();
    }
  });

  it('stores float16 rows at two bytes per value', async () => {
    await withStore(
      async (path, store) => {
        await store.writeRows([0], new Float32Array(identity.d).fill(1.5));
        await store.close();
        const db = new Database(path, { readonly: true });
        const row = db.prepare('SELECT row FROM lethe_rows').pluck().get() as Buffer;
        db.close();
        expect(row.length).toBe(identity.d * 2);
        expect(row.readUint16LE(0)).toBe(0x3e00); // 1.5 as IEEE half
      },
      { ...identity, dtype: 'float16' },
    );
  });

  it('reads many ids in any order in one call, and blocks by one range scan', async () => {
    await withStore(async (_, store) => {
      const ids = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 3001);
      await store.writeRows(ids, testRows(ids, identity.d));
      const asked = ids.slice(0, 2000).reverse();
      expect(await store.readRows(asked)).toEqual(testRows(asked, identity.d));
      const block = await store.readBlock(1000, 1500);
      const sorted = [...ids].sort((a, b) => a - b).slice(1000, 2500);
      expect(block.data).toEqual(testRows(sorted, identity.d));
    });
  });
});

describe('sqlite store erasure', () => {
  // Large rows live on overflow pages (4096-byte pages) or in one big cell (the default 64 KiB
  // pages for rows over 2 KiB); 512-byte pages split small rows across many pages.
  for (const [d, pageSize] of [
    [3000, 4096],
    [3000, undefined],
    [40, 512],
  ] as const) {
    it(`leaves no byte run of an erased row, old versions included (d = ${d}, pages ${pageSize ?? 'default'})`, async () => {
      const id: StoreIdentity = { ...identity, d };
      await withStore(
        async (path, store) => {
          const all = Array.from({ length: 60 }, (_, i) => i);
          await store.writeRows(all, uniqueRows(all, d));
          // Overwrite some rows first: their old versions derive from the sample as well.
          const rewritten = all.filter((i) => i % 3 === 0);
          const negated = uniqueRows(rewritten, d).map((v) => -v);
          await store.writeRows(rewritten, negated);
          const erased = all.filter((i) => i % 4 === 0 || i === 59); // 0, 4, 8, ..., 59
          const versions = erased.flatMap((i) => {
            const rows = [uniqueRows([i], d)];
            if (i % 3 === 0) rows.push(uniqueRows([i], d).map((v) => -v));
            return rows;
          });
          // 16-byte runs from the start, the middle and the end of every version.
          const windows = versions.flatMap((row) => {
            const bytes = float32Bytes(row);
            return [0, (d >> 1) * 4, (d - 4) * 4].map((at) => bytes.slice(at, at + 16));
          });
          const found = async () => {
            const files = [...(await filesOf(path)).values()];
            return windows.filter((w) => containsBytes(files, w)).length;
          };
          // Live rows are found (the current versions at least), or the scan proves nothing.
          expect(await found()).toBeGreaterThanOrEqual(erased.length * 3);
          await store.erase(erased);
          expect(await found()).toBe(0);
          const kept = all.filter((i) => !erased.includes(i));
          const expected = uniqueRows(kept, d);
          kept.forEach((i, k) => {
            if (i % 3 === 0)
              expected.set(
                negated.subarray(rewritten.indexOf(i) * d, (rewritten.indexOf(i) + 1) * d),
                k * d,
              );
          });
          expect(await store.readRows(kept)).toEqual(expected);
          await store.close();
          expect(await found()).toBe(0);
        },
        id,
        { pageSize },
      );
    });
  }

  it('keeps the previous state readable across reopen after many small commits', async () => {
    await withStore(async (path, store) => {
      for (let k = 0; k < 20; k++) await store.writeRows([k], testRows([k], identity.d));
      await store.erase([3, 4]);
      const before = await snapshotStore(store);
      await store.close();
      const reopened = await openSqliteStore(path, identity);
      expect(await snapshotStore(reopened)).toEqual(before);
      await reopened.close();
    });
  });
});
