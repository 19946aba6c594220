import { TEST_IDENTITY as identity, storeRejection, testRows } from '@lethe/store/conformance';
import { serverPresent, startServer, type TestServer } from '@lethe/vitest-config/postgres';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/index.js';
import { openPostgresStoreWithHook } from '../src/open-postgres-store.js';
import type { CommitStep } from '../src/postgres-store.js';
import { uniqueRows } from './fixtures/rows.mjs';
import { filesUnder, tempDataDir } from './helpers.js';

const d = identity.d;

describe('openPostgresStore on PGlite', () => {
  it('refuses a missing store unless asked to create it, and a second opener of the directory', async () => {
    const { dir, dataDir, remove } = await tempDataDir();
    try {
      const missing = await storeRejection(openPostgresStore({ dataDir: `${dir}/none` }, identity));
      expect(missing.code).toBe('not-found');
      expect(missing.message).toMatch(/does not exist.*\{ create: true \}/);
      const noStore = await storeRejection(openPostgresStore({ dataDir }, identity));
      expect(noStore.code).toBe('not-found');
      expect(noStore.message).toMatch(/no such schema.*\{ create: true \}/);
      const store = await openPostgresStore({ dataDir }, identity, { create: true });
      try {
        await store.writeRows([1], testRows([1], d));
        // PGlite takes no lock of its own: the store's lock file keeps a second Postgres off it.
        const second = await storeRejection(openPostgresStore({ dataDir }, identity));
        expect(second.code).toBe('locked');
        expect(second.message).toMatch(
          /already open in this process \(lock file lethe-store\.lock\)/,
        );
      } finally {
        await store.close();
      }
      const reopened = await openPostgresStore({ dataDir }, identity);
      expect(Array.from(await reopened.liveIds())).toEqual([1]);
      await reopened.close();
      const foreign = await storeRejection(
        openPostgresStore({ dataDir: dir }, identity, { create: true }),
      );
      expect(foreign.message).toMatch(/neither empty nor a PGlite data directory/);
    } finally {
      await remove();
    }
  });

  it('rejects a bad target, schema or erasure mode before touching anything', async () => {
    const bad = [
      () => openPostgresStore({} as never, identity),
      () => openPostgresStore({ dataDir: '/tmp/x' }, identity, { schema: 'Bad-Name' }),
      () => openPostgresStore({ dataDir: '/tmp/x' }, identity, { schema: 'pg_catalog' }),
      () => openPostgresStore({ dataDir: '/tmp/x' }, identity, { erasure: 'shred' as never }),
      () => openPostgresStore({ dataDir: '/tmp/x' }, identity, { scrubDelayMs: -1 }),
      () => openPostgresStore({ dataDir: '/tmp/x' }, identity, { scrubDelayMs: Number.NaN }),
    ];
    for (const open of bad) expect((await storeRejection(open())).code).toBe('invalid-argument');
  });
});

/** Whether any file in `files` holds the first 64 bytes of a unique test row of `id`. */
function holdsRow(files: Map<string, Uint8Array>, id: number, d: number): string[] {
  const needle = Buffer.from(uniqueRows([id], d).buffer).subarray(0, 64);
  return [...files].filter(([, b]) => Buffer.from(b).indexOf(needle) !== -1).map(([p]) => p);
}

describe('a deferred scrub (scrubDelayMs) on PGlite', () => {
  it('runs once for the erasures committed meanwhile, when asked, and leaves no erased byte in any file', async () => {
    const { dataDir, remove } = await tempDataDir();
    const steps: CommitStep[] = [];
    try {
      const store = await openPostgresStoreWithHook(
        { dataDir },
        { ...identity, d: 64 },
        { create: true, scrubDelayMs: 60_000 },
        (step) => steps.push(step),
      );
      const ids = [0, 1, 2, 3, 4];
      await store.writeRows(ids, uniqueRows(ids, 64));
      steps.length = 0;
      await store.erase([1]);
      await store.erase([2]);
      // Both committed, neither scrubbed yet: the calls returned without the rewrite.
      expect(steps).toEqual(['rows-written', 'committed', 'rows-written', 'committed']);
      expect(await store.has(1)).toBe(false);
      await store.scrubPending();
      expect(steps.filter((s) => s === 'scrubbed')).toHaveLength(1);
      await store.scrubPending(); // nothing waits: no second scrub
      expect(steps.filter((s) => s === 'scrubbed')).toHaveLength(1);
      await store.erase([3]);
      await store.close(); // runs the waiting scrub
      expect(steps.filter((s) => s === 'scrubbed')).toHaveLength(2);
      const files = await filesUnder(dataDir);
      for (const id of [1, 2, 3]) expect(holdsRow(files, id, 64)).toEqual([]);
      expect(holdsRow(files, 4, 64).length).toBeGreaterThan(0);
    } finally {
      await remove();
    }
  });
});

describe.skipIf(!serverPresent)('openPostgresStore on a server (apt package postgresql)', () => {
  let server: TestServer;
  let databases = 0;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.stop());

  async function database(): Promise<{ client: () => Promise<pg.Client> }> {
    const name = `store_${++databases}`;
    const admin = await server.client();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    return { client: () => server.client(name) };
  }

  it('keeps several stores in one database, one schema each, one session per store', async () => {
    const db = await database();
    const [a, b, c] = [await db.client(), await db.client(), await db.client()];
    const first = await openPostgresStore({ client: a }, identity, {
      create: true,
      schema: 'first',
    });
    const other = { ...identity, trajectoryDigest: 'sha256:other' };
    const second = await openPostgresStore({ client: b }, other, {
      create: true,
      schema: 'second',
    });
    await first.writeRows([1, 2], testRows([1, 2], d));
    await second.writeRows([2], testRows([7], d));
    expect(await first.readRows([2])).toEqual(testRows([2], d));
    expect(await second.readRows([2])).toEqual(testRows([7], d));
    // The advisory lock: another session cannot open a schema that is open.
    const locked = await storeRejection(
      openPostgresStore({ client: c }, identity, { schema: 'first', lockWaitMs: 100 }),
    );
    expect(locked.code).toBe('locked');
    expect(locked.message).toMatch(
      /already open in another session \(advisory lock .*waited 100 ms/,
    );
    await expect(
      openPostgresStore({ client: c }, identity, { schema: 'first', lockWaitMs: -1 }),
    ).rejects.toThrow(/lockWaitMs must be a finite number/);
    // An opener waits for the holder (a crashed process's session, say) to let go.
    const waiting = openPostgresStore({ client: c }, identity, { schema: 'first' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await first.close();
    const reopened = await waiting;
    expect(Array.from(await reopened.liveIds())).toEqual([1, 2]);
    await Promise.all([reopened.close(), second.close()]);
    const mismatch = await storeRejection(
      openPostgresStore({ client: a }, identity, { schema: 'second' }),
    );
    expect(mismatch.code).toBe('manifest-mismatch');
    await Promise.all([a.end(), b.end(), c.end()]);
  });

  /** A closed store with rows 0..4 (and id 9 erased); `damage` then breaks it with SQL. */
  async function openAfter(damage: string) {
    const db = await database();
    const client = await db.client();
    try {
      const store = await openPostgresStore({ client }, identity, { create: true });
      await store.writeRows([0, 1, 2, 3, 4, 9], testRows([0, 1, 2, 3, 4, 9], d));
      await store.erase([9]);
      await store.close();
      await client.query(damage);
      return await storeRejection(openPostgresStore({ client }, identity));
    } finally {
      await client.end();
    }
  }

  it('refuses damaged stores, naming the problem and the fix', async () => {
    const fix = /Fix: restore the database from a backup, or recompute the approximators/;
    // A changed byte in a row: its CRC-32 no longer matches.
    const flipped = await openAfter(
      `UPDATE lethe.rows SET row = set_byte(row, 5, get_byte(row, 5) # 4) WHERE id = 3`,
    );
    expect(flipped.code).toBe('corrupt-store');
    expect(flipped.message).toMatch(
      /the row of id 3 in "lethe"."rows" has CRC-32 \d+, but \d+ was stored/,
    );
    expect(flipped.message).toMatch(fix);
    const short = await openAfter(`UPDATE lethe.rows SET row = '\\x01020304' WHERE id = 2`);
    expect(short.message).toMatch(
      /the row of id 2 .* is 4 bytes, but d = 6 float32 values take 24 bytes/,
    );
    const count = await openAfter('UPDATE lethe.manifest SET row_count = 9');
    expect(count.message).toMatch(/row_count is 9 but "lethe"."rows" holds 5 rows/);
    const both = await openAfter('INSERT INTO lethe.erased (id) VALUES (4)');
    expect(both.message).toMatch(/id 4 is both in "lethe"."rows" and in "lethe"."erased"/);
    const table = await openAfter('DROP TABLE lethe.erased');
    expect(table.message).toMatch(/damaged: table erased is missing/);
    const format = await openAfter("UPDATE lethe.manifest SET format = 'other'");
    expect(format.message).toMatch(/format is "other"/);
    const ledger = await openAfter(`INSERT INTO lethe.ledger VALUES (0, '{"request": 0}')`);
    expect(ledger.message).toMatch(/ledger entry .* is malformed/);
  });

  it('refuses a store written by a newer version, saying so', async () => {
    const newer = await openAfter('INSERT INTO lethe.migrations (version) VALUES (2)');
    expect(newer.code).toBe('corrupt-store');
    expect(newer.message).toMatch(
      /has schema version 2, written by a newer @lethe\/store-postgres; this version reads versions up to 1\. Open it with the version that wrote it/,
    );
  });

  it('refuses a schema that holds something else, and leaves it alone', async () => {
    const db = await database();
    const client = await db.client();
    await client.query('CREATE SCHEMA lethe; CREATE TABLE lethe.notes (text text)');
    const error = await storeRejection(openPostgresStore({ client }, identity, { create: true }));
    expect(error.message).toMatch(/holds no approximator store .*\["notes"\].*another schema/);
    const tables = await client.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'lethe'`,
    );
    expect(tables.rows[0].n).toBe(1);
    await client.end();
  });

  it('by default (no scrubWal) an erased row leaves the heap files but stays in the WAL', async () => {
    const db = await database();
    const client = await db.client();
    const store = await openPostgresStore({ client }, { ...identity, d: 64 }, { create: true });
    const ids = [0, 1, 2];
    await store.writeRows(ids, uniqueRows(ids, 64));
    await store.erase([1]);
    await store.close();
    await client.query('CHECKPOINT');
    await client.end();
    const needle = Buffer.from(uniqueRows([1], 64).buffer).subarray(0, 64);
    const holding = [...(await filesUnder(server.dataDir))]
      .filter(([, bytes]) => Buffer.from(bytes).indexOf(needle) !== -1)
      .map(([path]) => path.split('/')[0]);
    expect(holding.length).toBeGreaterThan(0);
    expect(new Set(holding)).toEqual(new Set(['pg_wal']));
  });

  it('a deferred scrub runs by itself after scrubDelayMs, once for the erasures committed meanwhile', async () => {
    const db = await database();
    const client = await db.client();
    const steps: CommitStep[] = [];
    let scrubbed: () => void = () => {};
    const firstScrub = new Promise<void>((resolve) => {
      scrubbed = resolve;
    });
    const store = await openPostgresStoreWithHook(
      { client },
      { ...identity, d: 64 },
      { create: true, scrubDelayMs: 300 },
      (step) => {
        steps.push(step);
        if (step === 'scrubbed') scrubbed();
      },
    );
    const ids = [0, 1, 2, 3];
    await store.writeRows(ids, uniqueRows(ids, 64));
    const t0 = performance.now();
    await store.erase([1]);
    await store.erase([2]);
    const pending = await db.client();
    const marked = await pending.query('SELECT scrub_pending FROM lethe.manifest');
    expect(marked.rows[0].scrub_pending).toBe(true);
    expect(steps).not.toContain('scrubbed');
    await firstScrub;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(steps.filter((s) => s === 'scrubbed')).toHaveLength(1);
    const cleared = await pending.query('SELECT scrub_pending FROM lethe.manifest');
    expect(cleared.rows[0].scrub_pending).toBe(false);
    await store.close();
    await pending.query('CHECKPOINT');
    const oid = await pending.query(
      'SELECT oid::int FROM pg_database WHERE datname = current_database()',
    );
    await pending.end();
    await client.end();
    // This database's files hold no erased row (the WAL still does: a server's scrub leaves it).
    const heap = new Map(
      [...(await filesUnder(server.dataDir))].filter(([path]) =>
        path.startsWith(`base/${oid.rows[0].oid}/`),
      ),
    );
    for (const id of [1, 2]) expect(holdsRow(heap, id, 64)).toEqual([]);
    expect(holdsRow(heap, 3, 64).length).toBeGreaterThan(0);
  });
});
