// The one interface the store talks to Postgres through: a query with positional parameters and
// a transaction. Two drivers implement it with the same SQL: embedded PGlite (Postgres compiled
// to WebAssembly, on a data directory) and a server reached through node-postgres.
import type { PGlite } from '@electric-sql/pglite';

/** A query: `sql` with `$1, $2, ...` bound to `params`; resolves to the result rows. */
export type Query = <R>(sql: string, params?: readonly unknown[]) => Promise<R[]>;

export interface SqlDriver {
  /** 'pglite' or 'pg': what is behind the driver (for messages and defaults). */
  readonly kind: 'pglite' | 'pg';
  /** Where the database is, for messages: a data directory, or a server's address. */
  readonly where: string;
  readonly query: Query;
  /** Runs `body` in one transaction: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(body: (query: Query) => Promise<T>): Promise<T>;
  /** Ends the driver's session (the store's advisory lock with it). */
  close(): Promise<void>;
}

/** What the store needs of a node-postgres `Client` or `PoolClient`. */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** What the store needs of a node-postgres `Pool`. */
export interface PgPoolLike {
  connect(): Promise<PgClientLike & { release(error?: Error | boolean): void }>;
}

/** node-postgres sends Buffers as bytea; other byte views become Buffers over the same memory. */
function pgParams(params: readonly unknown[] | undefined): unknown[] | undefined {
  return params?.map((p) =>
    p instanceof Uint8Array && !Buffer.isBuffer(p)
      ? Buffer.from(p.buffer, p.byteOffset, p.byteLength)
      : p,
  );
}

/**
 * A driver over one node-postgres connection: a Client as given, or one connection taken from a
 * Pool for the store's lifetime (a session-level advisory lock lives on one connection).
 * `close` gives a pooled connection back; a Client stays open (its owner ends it).
 */
export async function pgDriver(
  target: { readonly pool: PgPoolLike } | { readonly client: PgClientLike },
  where: string,
): Promise<SqlDriver> {
  const pooled = 'pool' in target ? await target.pool.connect() : undefined;
  const client: PgClientLike = pooled ?? (target as { client: PgClientLike }).client;
  const query: Query = async <R>(sql: string, params?: readonly unknown[]) =>
    (await client.query(sql, pgParams(params))).rows as R[];
  return {
    kind: 'pg',
    where,
    query,
    async transaction(body) {
      await query('BEGIN');
      try {
        const result = await body(query);
        await query('COMMIT');
        return result;
      } catch (error) {
        await query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    async close() {
      pooled?.release();
    },
  };
}

/** A driver over a PGlite instance the store started; `close` shuts it down. */
export function pgliteDriver(db: PGlite, where: string): SqlDriver {
  const query: Query = async <R>(sql: string, params?: readonly unknown[]) =>
    (await db.query<R>(sql, params as unknown[] | undefined)).rows;
  return {
    kind: 'pglite',
    where,
    query,
    transaction: (body) =>
      db.transaction((tx) =>
        body(
          async <R>(sql: string, params?: readonly unknown[]) =>
            (await tx.query<R>(sql, params as unknown[] | undefined)).rows,
        ),
      ),
    close: () => db.close(),
  };
}
