// The service's system of record on Postgres: embedded PGlite in a data directory by default, a
// server by URL for several replicas. The same SQL runs on both through @lethe/store-postgres's
// driver interface. PGlite is one session: its queries and transactions are serialised here.
import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import {
  PGLITE_START_PARAMS,
  pgDriver,
  pgliteDriver,
  type Query,
  type SqlDriver,
} from '@lethe/store-postgres';
import pg from 'pg';

export type { Query };

/** The small interface the service talks to its database through. */
export interface Db {
  readonly kind: 'pglite' | 'pg';
  readonly where: string;
  readonly query: Query;
  transaction<T>(body: (query: Query) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Opens the embedded database in `dir` (created when missing). */
export async function openPglite(dir: string): Promise<Db> {
  await mkdir(dir, { recursive: true });
  const db = await PGlite.create({ dataDir: dir, startParams: [...PGLITE_START_PARAMS] });
  return serialised(pgliteDriver(db, dir));
}

/**
 * Opens a pool of connections to a Postgres server at `url` (postgres://...). Statements run
 * on any free connection, so that concurrent acknowledgements commit side by side (the server
 * groups their WAL flushes); a transaction takes one connection for its length, through
 * @lethe/store-postgres's driver.
 */
export async function openServer(url: string): Promise<{ db: Db; pool: pg.Pool }> {
  const pool = new pg.Pool({ connectionString: url, max: 8 });
  const where = url.replace(/:[^:@/]*@/, ':***@');
  // Fail now, naming the server, rather than at the first request.
  await pool.query('SELECT 1');
  const query: Query = async <R>(sql: string, params?: readonly unknown[]) =>
    (await pool.query(sql, params as unknown[] | undefined)).rows as R[];
  return {
    db: {
      kind: 'pg',
      where,
      query,
      async transaction(body) {
        const client = await pool.connect();
        try {
          return await (await pgDriver({ client }, where)).transaction(body);
        } finally {
          client.release();
        }
      },
      close: () => pool.end(),
    },
    pool,
  };
}

/** One statement stream: queries and transactions run one after another, in call order. */
function serialised(driver: SqlDriver): Db {
  let tail: Promise<unknown> = Promise.resolve();
  const run = <T>(work: () => Promise<T>): Promise<T> => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
  return {
    kind: driver.kind,
    where: driver.where,
    query: (sql, params) => run(() => driver.query(sql, params)),
    transaction: (body) => run(() => driver.transaction(body)),
    close: () => run(() => driver.close()),
  };
}
