import { StoreError } from '@lethe/store';
import { storeIoError } from '@lethe/store/adapter-kit';

/** `format` in the manifest table: what kind of store this schema holds. */
export const FORMAT_NAME = 'lethe-approximator-store-postgres';
/** The newest schema version (the last migration); the manifest's format version. */
export const POSTGRES_FORMAT_VERSION = 1;
/** The schema a store lives in unless `schema` says otherwise. */
export const DEFAULT_SCHEMA = 'lethe';
/** The first key of every store's advisory lock ("LETH"); the second is derived from the schema. */
export const LOCK_CLASS = 0x4c455448;

export const TABLES = ['migrations', 'manifest', 'rows', 'erased', 'ledger', 'head'] as const;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

export function validateSchemaName(schema: unknown): string {
  if (typeof schema !== 'string' || !IDENTIFIER.test(schema) || schema.startsWith('pg_')) {
    throw new StoreError(
      'invalid-argument',
      `openPostgresStore: schema must be a lowercase Postgres identifier (a-z, 0-9, _; at most 63 characters; not starting with pg_ or a digit), got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

/** Table names qualified by the store's schema. */
export function tablesOf(schema: string): Record<(typeof TABLES)[number], string> {
  const q = (table: string) => `"${schema}"."${table}"`;
  return {
    migrations: q('migrations'),
    manifest: q('manifest'),
    rows: q('rows'),
    erased: q('erased'),
    ledger: q('ledger'),
    head: q('head'),
  };
}

/**
 * The migrations, in order: migration k takes a store from schema version k - 1 to k, in one
 * transaction that also records k in the migrations table. Version 1 creates everything.
 *
 * A row is one bytea of d little-endian values in the dtype, with the CRC-32 of those bytes
 * (as a signed 32-bit integer). Its storage is EXTERNAL (never compressed: float rows do not
 * compress, and an uncompressed row is what erasure checks look for) and its statistics target
 * 0, so that ANALYZE never copies row bytes into pg_statistic.
 */
export function migrations(schema: string): readonly (readonly string[])[] {
  const t = tablesOf(schema);
  return [
    `
CREATE TABLE ${t.manifest} (
  singleton boolean PRIMARY KEY CHECK (singleton),
  format text NOT NULL,
  format_version integer NOT NULL,
  model_digest text NOT NULL,
  layout_digest text NOT NULL,
  trajectory_digest text NOT NULL,
  d integer NOT NULL,
  dtype text NOT NULL,
  row_count integer NOT NULL,
  scrub_pending boolean NOT NULL DEFAULT false
);
CREATE TABLE ${t.rows} (
  id integer PRIMARY KEY CHECK (id >= 0),
  crc32 integer NOT NULL,
  row bytea NOT NULL
);
ALTER TABLE ${t.rows} ALTER COLUMN row SET STORAGE EXTERNAL;
ALTER TABLE ${t.rows} ALTER COLUMN row SET STATISTICS 0;
CREATE TABLE ${t.erased} (
  id integer PRIMARY KEY
);
CREATE TABLE ${t.ledger} (
  request integer PRIMARY KEY,
  entry text NOT NULL
);
CREATE TABLE ${t.head} (
  singleton boolean PRIMARY KEY CHECK (singleton),
  weights bytea NOT NULL
);
ALTER TABLE ${t.head} ALTER COLUMN weights SET STORAGE EXTERNAL;
ALTER TABLE ${t.head} ALTER COLUMN weights SET STATISTICS 0;
`,
  ].map(statements);
}

/** A migration's statements, one per query (a prepared statement holds one command). */
function statements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const FIX =
  'Fix: restore the database from a backup, or recompute the approximators into a new store (openPostgresStore(target, expected, { create: true, schema: newSchema })).';

export function corruptStoreError(where: string, problem: string, cause?: unknown): StoreError {
  return new StoreError(
    'corrupt-store',
    `Approximator store ${where} is damaged: ${problem}. ${FIX}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Postgres errors (node-postgres' and PGlite's) carry the SQLSTATE as `code`. */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Turns an error Postgres (or the file system, or the network) raised while working on the store
 * at `where` into a StoreError that names the problem and the fix. StoreErrors pass through.
 */
export function translatePostgresError(where: string, doing: string, error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const state = sqlState(error);
  if (state === undefined) {
    const translated = storeIoError(doing, where, error);
    if (translated !== error || !(error instanceof Error)) return translated;
    // PGlite's WebAssembly aborts and node-postgres' lost connections are plain Errors.
    return new StoreError(
      'io',
      `Approximator store ${where}: ${error.message} while ${doing}; check that the database is reachable (the server running, the data directory intact) and retry.`,
      { cause: error },
    );
  }
  const message = (error as Error).message;
  if (state === 'XX001' || state === 'XX002') {
    return corruptStoreError(
      where,
      `Postgres reports "${message}" (SQLSTATE ${state}) while ${doing} (damaged pages)`,
      error,
    );
  }
  if (state === '53100') {
    return new StoreError(
      'io',
      `Approximator store ${where}: the disk is full while ${doing}; nothing of this call was committed. Free space and retry.`,
      { cause: error },
    );
  }
  if (state === '42501') {
    return new StoreError(
      'io',
      `Approximator store ${where}: the database role may not do this ("${message}") while ${doing}; grant it the privileges the store's README lists, or open the store as the role that owns its schema.`,
      { cause: error },
    );
  }
  return new StoreError(
    'io',
    `Approximator store ${where}: Postgres error ${state} ("${message}") while ${doing}; check the server's log and the connection, then retry.`,
    { cause: error },
  );
}
