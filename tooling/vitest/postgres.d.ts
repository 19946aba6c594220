import type pg from 'pg';

/** The newest installed Postgres server's bin directory, e.g. /usr/lib/postgresql/15/bin. */
export const POSTGRES_BIN: string | undefined;

/**
 * True when a Postgres server binary is installed; otherwise false (the tests skip, titled with
 * the package), or with LETHE_REQUIRE_DATA=1 an error naming the apt package.
 */
export const serverPresent: boolean;

export interface TestServer {
  /** The unix socket directory: node-postgres' `host`. */
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** A connection string for `database` (default postgres) as the superuser postgres. */
  url(database?: string): string;
  /** A client connected to `database` as the superuser postgres. */
  client(database?: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

/**
 * Starts a server with `settings` (e.g. wal_recycle=off) in a fresh directory under /tmp,
 * listening only on a unix socket there.
 */
export function startServer(settings?: Record<string, string>): Promise<TestServer>;
