import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
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
import Database from 'better-sqlite3';
import {
  APPLICATION_ID,
  corruptStoreError,
  ERASED_TABLE,
  FORMAT_NAME,
  HEAD_TABLE,
  LEDGER_SCHEMA,
  LEDGER_TABLE,
  MANIFEST_TABLE,
  READABLE_VERSIONS,
  ROWS_TABLE,
  SCHEMA,
  SQLITE_FORMAT_VERSION,
  TABLES,
  translateSqliteError,
} from './schema.js';
import {
  type CommitHook,
  checkpoint,
  checkStoredRow,
  decodeWeights,
  SqliteStore,
  type SqliteStoreState,
} from './sqlite-store.js';

export interface OpenSqliteStoreOptions {
  /** Create the database (and its directory) when there is none at `path`. */
  readonly create?: boolean;
  /**
   * Check the whole database when opening it (default true): SQLite's `PRAGMA quick_check` over
   * every page, then every row's length and CRC-32. Reading every byte takes time proportional
   * to the store's size; with `false` only the schema, the manifest and the row count are
   * checked at open, and a row's length and CRC-32 when it is read.
   */
  readonly verify?: boolean;
  /**
   * SQLite page size in bytes for a new database (a power of two, 512..65536; ignored when the
   * database exists). Default: 4096 for rows up to 2 KiB, 65536 for larger rows, which then need
   * fewer overflow pages.
   */
  readonly pageSize?: number;
}

/**
 * Opens the approximator store in the SQLite database at `path`, which must belong to
 * `expected` (model, layout, trajectory, d, dtype). The connection holds SQLite's exclusive
 * lock until `close()`, so a second open fails with code 'locked'.
 */
export function openSqliteStore(
  path: string,
  expected: StoreIdentity,
  options: OpenSqliteStoreOptions = {},
): Promise<ApproximatorStore> {
  return openSqliteStoreWithHook(path, expected, options, undefined);
}

/** openSqliteStore with a hook called at each commit step: the crash tests use it. */
export async function openSqliteStoreWithHook(
  path: string,
  expected: StoreIdentity,
  options: OpenSqliteStoreOptions,
  hook: CommitHook | undefined,
): Promise<ApproximatorStore> {
  const identity = validateIdentity(expected, 'openSqliteStore');
  const file = resolve(path);
  const create = options.create === true;
  const rowBytes = identity.d * bytesPerValue(identity.dtype);
  const pageSize = options.pageSize ?? (rowBytes <= 2048 ? 4096 : 65536);
  if (
    !Number.isInteger(pageSize) ||
    pageSize < 512 ||
    pageSize > 65536 ||
    !isPowerOfTwo(pageSize)
  ) {
    throw new StoreError(
      'invalid-argument',
      `openSqliteStore: pageSize must be a power of two from 512 to 65536, got ${String(pageSize)}`,
    );
  }
  const size = await fileSize(file);
  if (size === undefined) {
    if (!create) {
      throw new StoreError(
        'not-found',
        `No approximator store at ${file} (the file does not exist); pass { create: true } to create one, or check the path.`,
      );
    }
    try {
      await mkdir(dirname(file), { recursive: true });
    } catch (error) {
      throw translateSqliteError(file, 'openSqliteStore (creating its directory)', error);
    }
  }
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: !create, timeout: 0 });
  } catch (error) {
    throw translateSqliteError(file, 'opening the database', error);
  }
  try {
    // Look before changing anything: a foreign database is left as it was (not even switched
    // to write-ahead logging).
    db.pragma('locking_mode = EXCLUSIVE');
    const tables = listTables(db);
    const fresh = tables.length === 0;
    if (fresh && !create) {
      throw new StoreError(
        'not-found',
        `No approximator store at ${file} (an empty SQLite database); pass { create: true } to create one there, or check the path.`,
      );
    }
    if (!fresh && !tables.includes(MANIFEST_TABLE)) {
      throw new StoreError(
        create ? 'invalid-argument' : 'not-found',
        `${file} is a SQLite database but holds no approximator store (no ${MANIFEST_TABLE} table; its tables: ${JSON.stringify(tables.slice(0, 5))}${tables.length > 5 ? ' and more' : ''}); ${create ? 'create the store in a new file' : 'check the path'}.`,
      );
    }
    configure(db, file, (size ?? 0) === 0 ? pageSize : undefined);
    if (fresh) {
      initialize(db, identity);
      tables.push(...listTables(db));
    }
    if (!tables.includes(LEDGER_TABLE) && storedVersion(db) === 1) {
      upgradeFromVersion1(db);
      tables.push(...listTables(db));
    }
    const missing = TABLES.filter((t) => !tables.includes(t));
    if (missing.length > 0) {
      throw corruptStoreError(file, `table ${missing.join(', ')} is missing`);
    }
    const stored = readManifest(db, file);
    assertManifestMatches(stored.identity, identity);
    if (options.verify !== false) verifyAll(db, file, identity);
    const state = loadState(db, file, stored.rowCount, identity.d);
    // A crash between an erase's commit and its checkpoint leaves old pages in the log.
    checkpoint(db, file);
    return new SqliteStore(db, file, identity, state, hook);
  } catch (error) {
    db.close();
    throw translateSqliteError(file, 'opening the store', error);
  }
}

/**
 * With exclusive locking (one connection; the lock dies with its process, and the log index lives
 * in the connection's memory, so there is no -shm file): write-ahead log, full fsync at each commit, secure delete.
 */
function configure(db: Database.Database, file: string, newPageSize: number | undefined): void {
  if (newPageSize !== undefined) db.pragma(`page_size = ${newPageSize}`);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') {
    throw new StoreError(
      'io',
      `Approximator store ${file}: SQLite could not switch to write-ahead logging (journal_mode is ${String(mode)}); keep the store on a local file system.`,
    );
  }
  // Take the exclusive lock now, so that a second open fails here and not at its first write.
  db.exec('BEGIN IMMEDIATE; COMMIT');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  db.pragma('cell_size_check = ON');
  db.pragma('trusted_schema = OFF');
  db.pragma('foreign_keys = OFF');
}

function listTables(db: Database.Database): string[] {
  return db
    .prepare<[], string>(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`)
    .pluck()
    .all();
}

function initialize(db: Database.Database, identity: StoreIdentity): void {
  db.transaction(() => {
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.pragma(`user_version = ${SQLITE_FORMAT_VERSION}`);
    db.exec(SCHEMA);
    db.prepare(
      `INSERT INTO ${MANIFEST_TABLE} (singleton, format, format_version, model_digest, layout_digest, trajectory_digest, d, dtype, row_count)
       VALUES (1, ?, ?, ?, ?, ?, ?, ?, 0)`,
    ).run(
      FORMAT_NAME,
      SQLITE_FORMAT_VERSION,
      identity.modelDigest,
      identity.layoutDigest,
      identity.trajectoryDigest,
      identity.d,
      identity.dtype,
    );
  })();
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
}

function readManifest(
  db: Database.Database,
  file: string,
): { identity: StoreIdentity; rowCount: number } {
  const rows = db.prepare<[], ManifestRow>(`SELECT * FROM ${MANIFEST_TABLE}`).all();
  const fail = (problem: string) => corruptStoreError(file, `${MANIFEST_TABLE}: ${problem}`);
  if (rows.length !== 1) throw fail(`holds ${rows.length} rows instead of one`);
  const row = rows[0]!;
  if (row.format !== FORMAT_NAME) {
    throw fail(`format is ${JSON.stringify(row.format)}, not "${FORMAT_NAME}"`);
  }
  if (row.format_version !== SQLITE_FORMAT_VERSION) {
    throw new StoreError(
      'corrupt-store',
      `Approximator store ${file} has format version ${String(row.format_version)}, but this version of @lethe/store-sqlite reads versions ${READABLE_VERSIONS.join(' and ')}; open it with the version that wrote it.`,
    );
  }
  const applicationId = db.pragma('application_id', { simple: true });
  if (applicationId !== APPLICATION_ID) {
    throw corruptStoreError(
      file,
      `the database header's application_id is ${String(applicationId)}, not ${APPLICATION_ID} (a Lethe store)`,
    );
  }
  for (const key of ['model_digest', 'layout_digest', 'trajectory_digest', 'dtype'] as const) {
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
  };
}

/** SQLite's structural check of every page, then every row's length and CRC-32. */
function verifyAll(db: Database.Database, file: string, identity: StoreIdentity): void {
  const problems = db.prepare<[], string>('PRAGMA quick_check(5)').pluck().all();
  if (problems.length !== 1 || problems[0] !== 'ok') {
    throw corruptStoreError(file, `SQLite's quick_check reports: ${problems.join('; ')}`);
  }
  const rowBytes = identity.d * bytesPerValue(identity.dtype);
  const rows = db
    .prepare<[], [number, number, Uint8Array]>(`SELECT id, crc32, row FROM ${ROWS_TABLE}`)
    .raw(true);
  for (const [id, crc, row] of rows.iterate()) {
    checkStoredRow(file, id, crc, row, rowBytes, identity.d, identity.dtype);
  }
}

/** The manifest's format_version, or undefined when it cannot be read (checked later). */
function storedVersion(db: Database.Database): unknown {
  try {
    return db.prepare(`SELECT format_version FROM ${MANIFEST_TABLE}`).pluck().get();
  } catch {
    return undefined;
  }
}

/** Adds the ledger tables to a version 1 store, in one transaction. */
function upgradeFromVersion1(db: Database.Database): void {
  db.transaction(() => {
    db.exec(LEDGER_SCHEMA);
    db.prepare(`UPDATE ${MANIFEST_TABLE} SET format_version = ?`).run(SQLITE_FORMAT_VERSION);
    db.pragma(`user_version = ${SQLITE_FORMAT_VERSION}`);
  })();
}

/** The ledger and the head weights, checked against each other. */
function loadLedger(
  db: Database.Database,
  file: string,
  d: number,
): { ledger: LedgerBook; head: Float32Array | undefined } {
  const fail = (problem: string) => corruptStoreError(file, `${LEDGER_TABLE}: ${problem}`);
  const rows = db
    .prepare<[], [number, string]>(`SELECT request, entry FROM ${LEDGER_TABLE} ORDER BY request`)
    .raw(true)
    .all();
  const entries = rows.map(([request, text]) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw fail(`entry ${request} is not valid JSON`);
    }
  });
  const ledger = new LedgerBook(entries, fail);
  const blobs = db.prepare<[], Uint8Array>(`SELECT weights FROM ${HEAD_TABLE}`).pluck().all();
  if (blobs.length > 1) throw fail(`${HEAD_TABLE} holds ${blobs.length} rows instead of one`);
  const blob = blobs[0];
  if (blob !== undefined && blob.length !== d * 4) {
    throw corruptStoreError(
      file,
      `${HEAD_TABLE}: the weights take ${blob.length} bytes, not ${d * 4}`,
    );
  }
  const head = blob === undefined ? undefined : decodeWeights(blob);
  checkHeadWeights(head, ledger, (problem) => corruptStoreError(file, `${HEAD_TABLE}: ${problem}`));
  return { ledger, head };
}

/** Live and erased ids, checked against each other and against the manifest's row count. */
function loadState(
  db: Database.Database,
  file: string,
  rowCount: number,
  d: number,
): SqliteStoreState {
  const ids = Int32Array.from(
    db.prepare<[], number>(`SELECT id FROM ${ROWS_TABLE} ORDER BY id`).pluck().all(),
    (id) => checkStoredId(file, ROWS_TABLE, id),
  );
  if (ids.length !== rowCount) {
    throw corruptStoreError(
      file,
      `${MANIFEST_TABLE}.row_count is ${rowCount} but ${ROWS_TABLE} holds ${ids.length} rows`,
    );
  }
  const erased = db
    .prepare<[], number>(`SELECT id FROM ${ERASED_TABLE}`)
    .pluck()
    .all()
    .map((id) => checkStoredId(file, ERASED_TABLE, id));
  const live = new Set(ids);
  const both = erased.find((id) => live.has(id));
  if (both !== undefined) {
    throw corruptStoreError(file, `id ${both} is both in ${ROWS_TABLE} and in ${ERASED_TABLE}`);
  }
  return { ids, erased, ...loadLedger(db, file, d) };
}

function checkStoredId(file: string, table: string, id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > MAX_STORE_ID) {
    throw corruptStoreError(file, `${table} holds id ${id}, outside [0, ${MAX_STORE_ID}]`);
  }
  return id;
}

async function fileSize(file: string): Promise<number | undefined> {
  try {
    const info = await stat(file);
    if (!info.isFile()) {
      throw new StoreError(
        'invalid-argument',
        `openSqliteStore: ${file} is not a file; a SQLite store is one database file`,
      );
    }
    return info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw translateSqliteError(file, 'openSqliteStore', error);
  }
}

function isPowerOfTwo(n: number): boolean {
  return (n & (n - 1)) === 0;
}
