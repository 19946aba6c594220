import { StoreError } from '@lethe/store';
import { storeIoError } from '@lethe/store/adapter-kit';

/** `format` in the manifest table: what kind of database this is. */
export const FORMAT_NAME = 'lethe-approximator-store-sqlite';
export const SQLITE_FORMAT_VERSION = 2;
/** Version 1 is version 2 without the ledger tables; opening one adds them. */
export const READABLE_VERSIONS: readonly number[] = [1, 2];
/** `PRAGMA application_id` of a store database: "LETH". */
export const APPLICATION_ID = 0x4c455448;

export const MANIFEST_TABLE = 'lethe_manifest';
export const ROWS_TABLE = 'lethe_rows';
export const ERASED_TABLE = 'lethe_erased';
export const LEDGER_TABLE = 'lethe_ledger';
export const HEAD_TABLE = 'lethe_head';
export const TABLES = [MANIFEST_TABLE, ROWS_TABLE, ERASED_TABLE, LEDGER_TABLE, HEAD_TABLE] as const;

/**
 * The deletion ledger: one JSON DeletionEntry per committed deletion, and the weights after the
 * last one (d float32, little-endian).
 */
export const LEDGER_SCHEMA = `
CREATE TABLE ${LEDGER_TABLE} (
  request INTEGER PRIMARY KEY,
  entry TEXT NOT NULL
) STRICT;
CREATE TABLE ${HEAD_TABLE} (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  weights BLOB NOT NULL
) STRICT;
`;

/**
 * The whole schema. STRICT tables make SQLite enforce the column types. A row is one BLOB of
 * d little-endian values in the dtype, with the CRC-32 of those bytes.
 */
export const SCHEMA = `
CREATE TABLE ${MANIFEST_TABLE} (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  format TEXT NOT NULL,
  format_version INTEGER NOT NULL,
  model_digest TEXT NOT NULL,
  layout_digest TEXT NOT NULL,
  trajectory_digest TEXT NOT NULL,
  d INTEGER NOT NULL,
  dtype TEXT NOT NULL,
  row_count INTEGER NOT NULL
) STRICT;
CREATE TABLE ${ROWS_TABLE} (
  id INTEGER PRIMARY KEY,
  crc32 INTEGER NOT NULL,
  row BLOB NOT NULL
) STRICT;
CREATE TABLE ${ERASED_TABLE} (
  id INTEGER PRIMARY KEY
) STRICT;
${LEDGER_SCHEMA}`;

export const FIX =
  'Fix: restore the database file from a backup, or recompute the approximators into a new store (openSqliteStore(newPath, expected, { create: true })).';

export function corruptStoreError(path: string, problem: string, cause?: unknown): StoreError {
  return new StoreError(
    'corrupt-store',
    `Approximator store ${path} is damaged: ${problem}. ${FIX}`,
    cause === undefined ? undefined : { cause },
  );
}

/** better-sqlite3 raises SqliteError with SQLite's extended result code as a string. */
function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/**
 * Turns an error SQLite (or the file system) raised while working on the store at `path` into a
 * StoreError that names the problem and the fix. StoreErrors pass through, and so do errors of
 * neither (bugs).
 */
export function translateSqliteError(path: string, doing: string, error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const code = sqliteCode(error);
  // Not SQLite's: the file system's (stat, mkdir) becomes an 'io' StoreError, a bug stays as is.
  if (code === undefined) return storeIoError(doing, path, error);
  const message = (error as Error).message;
  if (code === 'SQLITE_NOTADB') {
    return corruptStoreError(
      path,
      `not a SQLite database (SQLite: "${message}" while ${doing}; the header is overwritten or this is another kind of file)`,
      error,
    );
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return corruptStoreError(
      path,
      `SQLite reports "${message}" while ${doing} (truncated or overwritten pages)`,
      error,
    );
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreError(
      'locked',
      `Approximator store ${path} is already open in another connection (this process or another); close it there first. A store is opened by one connection at a time (SQLite exclusive locking; the lock ends with its process).`,
      { cause: error },
    );
  }
  if (code === 'SQLITE_FULL') {
    return new StoreError(
      'io',
      `Approximator store ${path}: the disk is full while ${doing}; nothing of this call was written. Free space and retry.`,
      { cause: error },
    );
  }
  return new StoreError(
    'io',
    `Approximator store ${path}: SQLite ${code} ("${message}") while ${doing}; check that the database file and its directory are readable and writable on a local file system, then retry.`,
    { cause: error },
  );
}
