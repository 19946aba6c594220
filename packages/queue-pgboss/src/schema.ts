import type pg from 'pg';

/** The pg-boss queue the blocks go through. */
export const QUEUE = 'lethe-recollect';

// The run (trajectory, data, model recipe) as content-addressed chunks: written once in one
// transaction with its header row, so a worker either finds the whole run or none of it. Rows of
// finished blocks: one row per block, inserted in one statement, so a killed worker leaves none.
const DDL = `
CREATE TABLE IF NOT EXISTS lethe_queue_runs (
  run text PRIMARY KEY,
  chunks integer NOT NULL,
  bytes bigint NOT NULL,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS lethe_queue_run_chunks (
  run text NOT NULL REFERENCES lethe_queue_runs (run) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  seq integer NOT NULL,
  bytes bytea NOT NULL,
  PRIMARY KEY (run, seq)
);
CREATE TABLE IF NOT EXISTS lethe_queue_blocks (
  call text NOT NULL,
  block integer NOT NULL,
  ids bytea NOT NULL,
  rows bytea NOT NULL,
  sha256 text NOT NULL,
  worker text NOT NULL,
  PRIMARY KEY (call, block)
);
`;

export async function ensureSchema(client: pg.ClientBase | pg.Pool): Promise<void> {
  // Concurrent CREATE TABLE IF NOT EXISTS can race on the catalog: serialise with a lock.
  await client.query('SELECT pg_advisory_lock(7361001)');
  try {
    await client.query(DDL);
  } finally {
    await client.query('SELECT pg_advisory_unlock(7361001)');
  }
}
