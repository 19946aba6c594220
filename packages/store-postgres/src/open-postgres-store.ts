import { mkdir, readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import {
  type ApproximatorStore,
  assertManifestMatches,
  StoreError,
  type StoreIdentity,
} from '@lethe/store';
import {
  bytesPerValue,
  checkHeadWeights,
  LedgerBook,
  MAX_STORE_ID,
  validateIdentity,
} from '@lethe/store/adapter-kit';
import { LOCK_FILE, lockDataDir } from './dir-lock.js';
import {
  type PgClientLike,
  type PgPoolLike,
  pgDriver,
  pgliteDriver,
  type Query,
  type SqlDriver,
} from './driver.js';
import {
  type CommitHook,
  checkStoredRow,
  decodeWeights,
  type ErasureMode,
  PostgresStore,
  type PostgresStoreState,
  scrub,
} from './postgres-store.js';
import {
  corruptStoreError,
  DEFAULT_SCHEMA,
  FORMAT_NAME,
  LOCK_CLASS,
  migrations,
  POSTGRES_FORMAT_VERSION,
  TABLES,
  tablesOf,
  translatePostgresError,
  validateSchemaName,
} from './schema.js';

/**
 * Where the store lives: an embedded PGlite database in a data directory on disk (started and
 * stopped by the store), or a Postgres server through node-postgres, as a `Pool` (the store
 * takes one connection from it until `close()`) or a connected `Client` (left open on close).
 */
export type PostgresTarget =
  | { readonly dataDir: string }
  | { readonly pool: PgPoolLike }
  | { readonly client: PgClientLike };

export interface OpenPostgresStoreOptions {
  /** Create the store (and, for PGlite, the data directory) when there is none. */
  readonly create?: boolean;
  /** The Postgres schema the store's tables live in (default 'lethe'): one per store. */
  readonly schema?: string;
  /**
   * Check every row's length and CRC-32 when opening (default true); reading every row takes time
   * proportional to the store's size. With false a row is checked when it is read.
   */
  readonly verify?: boolean;
  /**
   * What follows a committed erasure (erase, commitDeletion): 'rewrite' (default) runs VACUUM FULL
   * on the rows and head tables, which writes them anew without the erased rows and drops the
   * old files; it takes time proportional to the table and an exclusive lock on it. 'vacuum' runs
   * plain VACUUM: cheap, but the dead tuples' bytes stay in the pages until they are reused.
   */
  readonly erasure?: ErasureMode;
  /**
   * After the VACUUM, CHECKPOINT, pg_switch_wal() and CHECKPOINT again, so that the WAL segments
   * holding the rows as they were written are removed. Default: true on PGlite (which the store
   * starts with wal_recycle = off, so removed segments are deleted, not renamed for reuse), false
   * on a server (it needs the pg_checkpoint role and EXECUTE on pg_switch_wal, and archived WAL,
   * replicas and backups keep their copies anyway: see the README).
   */
  readonly scrubWal?: boolean;
  /**
   * When the scrub (the VACUUM, and the WAL switch with `scrubWal`) runs: 0 (default) in the
   * erasing call, after its commit, so that the call returns with the bytes gone from the data
   * files. More: that many milliseconds after the first erasure not yet scrubbed, in the
   * background, once for all the erasures committed meanwhile. A rewrite costs the whole table
   * whatever it erases, so a service that erases often spends less on fewer. Erased rows are
   * unreadable through SQL from their commit on either way; the delay bounds how long their
   * bytes stay in dead tuples. `scrubPending()` runs a waiting scrub at once, `close()` too, and
   * a process that stops first leaves the store marked, so that the next open runs it.
   */
  readonly scrubDelayMs?: number;
  /**
   * How long to wait for another session's lock on the store before failing with 'locked'
   * (default 5000 ms). A process killed while it held the store leaves its server session
   * alive until the server notices the closed socket, usually within milliseconds, longer on
   * a loaded machine: a restart after a crash waits that out instead of failing. 0 fails at once.
   */
  readonly lockWaitMs?: number;
}

/** The store openPostgresStore returns: an ApproximatorStore that can run a deferred scrub now. */
export interface PostgresApproximatorStore extends ApproximatorStore {
  /** Runs the scrub that `scrubDelayMs` deferred, if one waits; resolves when it is done. */
  scrubPending(): Promise<void>;
}

const LOCK_POLL_MS = 25;

/**
 * Opens the approximator store in `target` (a PGlite data directory or a Postgres server), in
 * the schema `options.schema`, which must belong to `expected` (model, layout, trajectory, d,
 * dtype). The store holds a session-level advisory lock until `close()`, so a second opener of
 * the same schema fails with code 'locked'.
 */
export function openPostgresStore(
  target: PostgresTarget,
  expected: StoreIdentity,
  options: OpenPostgresStoreOptions = {},
): Promise<PostgresApproximatorStore> {
  return openPostgresStoreWithHook(target, expected, options, undefined);
}

/**
 * PGlite's start parameters with removed WAL segments deleted (wal_recycle=off) rather than
 * renamed for reuse with their old bytes, and without -F (fsync off): Postgres then asks for
 * fsync, though PGlite's Node file system does not pass it on to the disk. A new segment is
 * not filled with zeros first (wal_init_zero=off): it is a new file, so it holds no old bytes
 * either, and writing 16 MB of zeros at every WAL switch (each erasure's scrub makes one) held
 * the disk long enough to stall the other database's commits.
 */
export const PGLITE_START_PARAMS: readonly string[] = [
  ...PGlite.defaultStartParams.filter((p) => p !== '-F'),
  '-c',
  'wal_recycle=off',
  '-c',
  'wal_init_zero=off',
];

/** openPostgresStore with a hook called at each commit step: the crash tests use it. */
export async function openPostgresStoreWithHook(
  target: PostgresTarget,
  expected: StoreIdentity,
  options: OpenPostgresStoreOptions,
  hook: CommitHook | undefined,
): Promise<PostgresApproximatorStore> {
  const identity = validateIdentity(expected, 'openPostgresStore');
  const schema = validateSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const erasure = options.erasure ?? 'rewrite';
  if (
    options.lockWaitMs !== undefined &&
    !(Number.isFinite(options.lockWaitMs) && options.lockWaitMs >= 0)
  ) {
    throw new StoreError(
      'invalid-argument',
      `openPostgresStore: lockWaitMs must be a finite number of milliseconds >= 0, got ${options.lockWaitMs}`,
    );
  }
  const scrubDelayMs = options.scrubDelayMs ?? 0;
  if (!(Number.isFinite(scrubDelayMs) && scrubDelayMs >= 0 && scrubDelayMs <= 2 ** 31 - 1)) {
    throw new StoreError(
      'invalid-argument',
      `openPostgresStore: scrubDelayMs must be a number of milliseconds in [0, 2^31 - 1] (0: scrub in the erasing call), got ${scrubDelayMs}`,
    );
  }
  if (erasure !== 'rewrite' && erasure !== 'vacuum') {
    throw new StoreError(
      'invalid-argument',
      `openPostgresStore: erasure must be 'rewrite' or 'vacuum', got ${JSON.stringify(erasure)}`,
    );
  }
  const create = options.create === true;
  const { driver, release } = await connect(target, create);
  const where = `${driver.where} (schema ${schema})`;
  try {
    const query = driver.query;
    const waitMs = options.lockWaitMs ?? 5000;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const [key] = await query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1::integer, $2::integer) AS locked',
        [LOCK_CLASS, crc32(schema) | 0],
      );
      if (key?.locked === true) break;
      if (Date.now() >= deadline) {
        throw new StoreError(
          'locked',
          `Approximator store ${where} is already open in another session (advisory lock ${LOCK_CLASS}/${crc32(schema) | 0} is held, waited ${waitMs} ms); close it there first. A store is opened by one session at a time; the lock ends with that session.`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    await initialize(driver, schema, identity, create, where);
    const t = tablesOf(schema);
    const stored = await readManifest(query, t.manifest, where);
    assertManifestMatches(stored.identity, identity);
    if (options.verify !== false) await verifyRows(query, t.rows, identity, where);
    const state = await loadState(query, schema, stored.rowCount, identity.d, where);
    const scrubWal = options.scrubWal ?? driver.kind === 'pglite';
    // A crash between an erasure's commit and its scrub leaves the dead tuples: clear them now.
    if (stored.scrubPending) await scrub(query, schema, erasure, scrubWal);
    return new PostgresStore(
      { driver, schema, identity, erasure, scrubWal, scrubDelayMs, release, hook },
      state,
    );
  } catch (error) {
    await driver.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await driver.close().catch(() => undefined);
    await release();
    throw translatePostgresError(where, 'opening the store', error);
  }
}

/** The driver for `target`, and what else to release on close (a data directory's lock). */
async function connect(
  target: PostgresTarget,
  create: boolean,
): Promise<{ driver: SqlDriver; release: () => Promise<void> }> {
  const none = async () => undefined;
  if (typeof target !== 'object' || target === null) {
    throw badTarget(target);
  }
  if ('pool' in target || 'client' in target) {
    const which = 'pool' in target ? 'pool' : 'client';
    const value = 'pool' in target ? target.pool : target.client;
    const ok =
      typeof value === 'object' &&
      value !== null &&
      typeof (which === 'pool' ? (value as PgPoolLike).connect : (value as PgClientLike).query) ===
        'function';
    if (!ok) throw badTarget(target);
    const where = `Postgres server (node-postgres ${which})`;
    try {
      return { driver: await pgDriver(target, where), release: none };
    } catch (error) {
      throw translatePostgresError(where, 'connecting', error);
    }
  }
  if (!('dataDir' in target) || typeof target.dataDir !== 'string' || target.dataDir === '') {
    throw badTarget(target);
  }
  const dir = resolve(target.dataDir);
  const where = `PGlite ${dir}`;
  const entries = await listDir(dir);
  const isData = entries?.includes('PG_VERSION') === true;
  if (!isData) {
    const empty = entries === undefined || entries.every((e) => e === LOCK_FILE);
    if (!empty) {
      throw new StoreError(
        create ? 'invalid-argument' : 'not-found',
        `${dir} is neither empty nor a PGlite data directory (no PG_VERSION; it holds ${JSON.stringify(entries.slice(0, 5))}${entries.length > 5 ? ' and more' : ''}); ${create ? 'create the store in a new or empty directory' : 'check the path'}.`,
      );
    }
    if (!create) {
      throw new StoreError(
        'not-found',
        `No approximator store at ${dir} (${entries === undefined ? 'the directory does not exist' : 'an empty directory'}); pass { create: true } to create one, or check the path.`,
      );
    }
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw translatePostgresError(where, 'openPostgresStore (creating the data directory)', error);
    }
  }
  const release = await lockDataDir(dir);
  let db: PGlite;
  try {
    db = await PGlite.create({ dataDir: dir, startParams: [...PGLITE_START_PARAMS] });
  } catch (error) {
    await release();
    if (isData) {
      throw corruptStoreError(
        where,
        `PGlite could not start Postgres on it ("${(error as Error).message}"; damaged or missing files, or a data directory of another Postgres version)`,
        error,
      );
    }
    throw translatePostgresError(where, 'creating the data directory', error);
  }
  return { driver: pgliteDriver(db, where), release };
}

function badTarget(target: unknown): StoreError {
  return new StoreError(
    'invalid-argument',
    `openPostgresStore: target must be { dataDir } (a PGlite data directory), { pool } (a node-postgres Pool) or { client } (a connected node-postgres Client), got ${target === null ? 'null' : typeof target === 'object' ? `an object with keys ${JSON.stringify(Object.keys(target as object))}` : typeof target}`,
  );
}

/** The names in `dir`, or undefined when it does not exist. */
async function listDir(dir: string): Promise<string[] | undefined> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) {
      throw new StoreError(
        'invalid-argument',
        `openPostgresStore: ${dir} is not a directory; a PGlite store is a data directory`,
      );
    }
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw translatePostgresError(dir, 'openPostgresStore', error);
  }
}

/**
 * Creates the store's schema when there is none (with `create`), applies pending migrations, and
 * refuses a schema that holds something else or was written by a newer version.
 */
async function initialize(
  driver: SqlDriver,
  schema: string,
  identity: StoreIdentity,
  create: boolean,
  where: string,
): Promise<void> {
  const query = driver.query;
  const t = tablesOf(schema);
  const tables = (
    await query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`,
      [schema],
    )
  ).map((r) => r.name);
  const [exists] = await query<{ n: number }>(
    'SELECT count(*)::integer AS n FROM pg_namespace WHERE nspname = $1',
    [schema],
  );
  if (tables.length === 0) {
    if (!create) {
      throw new StoreError(
        'not-found',
        `No approximator store at ${where} (${exists?.n ? 'the schema is empty' : 'no such schema'}); pass { create: true } to create one, or check the target and the schema.`,
      );
    }
  } else if (!tables.includes('migrations')) {
    throw new StoreError(
      create ? 'invalid-argument' : 'not-found',
      `The schema of ${where} holds no approximator store (no migrations table; its tables: ${JSON.stringify(tables.slice(0, 5))}${tables.length > 5 ? ' and more' : ''}); ${create ? 'create the store in another schema (option schema)' : 'check the schema'}.`,
    );
  }
  let version = 0;
  if (tables.includes('migrations')) {
    const [row] = await query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${t.migrations}`,
    );
    version = row?.v ?? 0;
    if (version > POSTGRES_FORMAT_VERSION) {
      throw new StoreError(
        'corrupt-store',
        `Approximator store ${where} has schema version ${version}, written by a newer @lethe/store-postgres; this version reads versions up to ${POSTGRES_FORMAT_VERSION}. Open it with the version that wrote it.`,
      );
    }
  }
  const steps = migrations(schema);
  if (version < steps.length) {
    await driver.transaction(async (tx) => {
      if (version === 0) {
        await tx(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
        await tx(
          `CREATE TABLE ${t.migrations} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
      }
      for (let v = version + 1; v <= steps.length; v++) {
        for (const statement of steps[v - 1]!) await tx(statement);
        await tx(`INSERT INTO ${t.migrations} (version) VALUES ($1)`, [v]);
      }
      if (version === 0) {
        await tx(
          `INSERT INTO ${t.manifest} (singleton, format, format_version, model_digest, layout_digest, trajectory_digest, d, dtype, row_count)
           VALUES (true, $1, $2, $3, $4, $5, $6, $7, 0)`,
          [
            FORMAT_NAME,
            POSTGRES_FORMAT_VERSION,
            identity.modelDigest,
            identity.layoutDigest,
            identity.trajectoryDigest,
            identity.d,
            identity.dtype,
          ],
        );
      } else {
        await tx(`UPDATE ${t.manifest} SET format_version = $1`, [POSTGRES_FORMAT_VERSION]);
      }
    });
  }
  const missing = (
    await query<{ name: string }>(
      `SELECT name FROM unnest($1::text[]) AS name WHERE to_regclass(quote_ident($2) || '.' || name) IS NULL`,
      [`{${TABLES.join(',')}}`, schema],
    )
  ).map((r) => r.name);
  if (missing.length > 0) {
    throw corruptStoreError(where, `table ${missing.join(', ')} is missing`);
  }
}

interface ManifestRow {
  format: unknown;
  format_version: unknown;
  model_digest: unknown;
  layout_digest: unknown;
  trajectory_digest: unknown;
  d: unknown;
  dtype: unknown;
  row_count: unknown;
  scrub_pending: unknown;
}

async function readManifest(
  query: Query,
  table: string,
  where: string,
): Promise<{ identity: StoreIdentity; rowCount: number; scrubPending: boolean }> {
  const rows = await query<ManifestRow>(`SELECT * FROM ${table}`);
  const fail = (problem: string) => corruptStoreError(where, `${table}: ${problem}`);
  if (rows.length !== 1) throw fail(`holds ${rows.length} rows instead of one`);
  const row = rows[0]!;
  if (row.format !== FORMAT_NAME) {
    throw fail(`format is ${JSON.stringify(row.format)}, not "${FORMAT_NAME}"`);
  }
  if (row.format_version !== POSTGRES_FORMAT_VERSION) {
    throw fail(
      `format_version is ${String(row.format_version)}, but the migrations table says ${POSTGRES_FORMAT_VERSION}`,
    );
  }
  for (const key of ['model_digest', 'layout_digest', 'trajectory_digest'] as const) {
    if (typeof row[key] !== 'string' || row[key] === '') throw fail(`${key} is not a string`);
  }
  const dtype = row.dtype;
  if (dtype !== 'float32' && dtype !== 'float16') {
    throw fail(`dtype is ${JSON.stringify(dtype)}, not "float32" or "float16"`);
  }
  const { d, row_count: rowCount } = row;
  if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 1) {
    throw fail(`d is ${String(d)}, not a positive integer`);
  }
  if (typeof rowCount !== 'number' || !Number.isSafeInteger(rowCount) || rowCount < 0) {
    throw fail(`row_count is ${String(rowCount)}, not a count`);
  }
  return {
    identity: {
      modelDigest: row.model_digest as string,
      layoutDigest: row.layout_digest as string,
      trajectoryDigest: row.trajectory_digest as string,
      d,
      dtype,
    },
    rowCount,
    scrubPending: row.scrub_pending === true,
  };
}

/** Every row's length and CRC-32, a block of rows at a time. */
async function verifyRows(
  query: Query,
  table: string,
  identity: StoreIdentity,
  where: string,
): Promise<void> {
  const rowBytes = identity.d * bytesPerValue(identity.dtype);
  const batch = Math.max(1, Math.floor((8 * 2 ** 20) / rowBytes));
  let after = -1;
  for (;;) {
    const rows = await query<{ id: number; crc32: number; row: Uint8Array }>(
      `SELECT id, crc32, row FROM ${table} WHERE id > $1 ORDER BY id LIMIT ${batch}`,
      [after],
    );
    for (const { id, crc32: crc, row } of rows) {
      checkStoredRow(where, table, id, crc, row, rowBytes, identity.d, identity.dtype);
    }
    if (rows.length < batch) return;
    after = rows[rows.length - 1]!.id;
  }
}

/** Live and erased ids, checked against each other and the row count; the ledger and head. */
async function loadState(
  query: Query,
  schema: string,
  rowCount: number,
  d: number,
  where: string,
): Promise<PostgresStoreState> {
  const t = tablesOf(schema);
  const ids = Int32Array.from(
    await query<{ id: number }>(`SELECT id FROM ${t.rows} ORDER BY id`),
    ({ id }) => checkStoredId(where, t.rows, id),
  );
  if (ids.length !== rowCount) {
    throw corruptStoreError(
      where,
      `${t.manifest}.row_count is ${rowCount} but ${t.rows} holds ${ids.length} rows`,
    );
  }
  const erased = (await query<{ id: number }>(`SELECT id FROM ${t.erased}`)).map(({ id }) =>
    checkStoredId(where, t.erased, id),
  );
  const live = new Set(ids);
  const both = erased.find((id) => live.has(id));
  if (both !== undefined) {
    throw corruptStoreError(where, `id ${both} is both in ${t.rows} and in ${t.erased}`);
  }
  const fail = (problem: string) => corruptStoreError(where, `${t.ledger}: ${problem}`);
  const entries = (
    await query<{ request: number; entry: string }>(
      `SELECT request, entry FROM ${t.ledger} ORDER BY request`,
    )
  ).map(({ request, entry }) => {
    try {
      return JSON.parse(entry) as unknown;
    } catch {
      throw fail(`entry ${request} is not valid JSON`);
    }
  });
  const ledger = new LedgerBook(entries, fail);
  const blobs = (await query<{ weights: Uint8Array }>(`SELECT weights FROM ${t.head}`)).map(
    (r) => r.weights,
  );
  if (blobs.length > 1) throw fail(`${t.head} holds ${blobs.length} rows instead of one`);
  const blob = blobs[0];
  if (blob !== undefined && blob.length !== d * 4) {
    throw corruptStoreError(
      where,
      `${t.head}: the weights take ${blob.length} bytes, not ${d * 4}`,
    );
  }
  const head = blob === undefined ? undefined : decodeWeights(blob);
  checkHeadWeights(head, ledger, (problem) => corruptStoreError(where, `${t.head}: ${problem}`));
  return { ids, erased, ledger, head };
}

function checkStoredId(where: string, table: string, id: unknown): number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_STORE_ID) {
    throw corruptStoreError(where, `${table} holds id ${String(id)}, outside [0, ${MAX_STORE_ID}]`);
  }
  return id;
}
