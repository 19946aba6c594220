import { createHash } from 'node:crypto';
import { deserialize, serialize } from 'node:v8';
import type { BackendName } from '@lethe/autodiff';
import { LetheError, type ModelRecipe, type TrainingData } from '@lethe/core';
import type { Trajectory } from '@lethe/recollect';
import type pg from 'pg';

/** Everything a worker needs to compute any block of a run. */
export interface RunBlob {
  readonly backend: BackendName;
  readonly recipe: ModelRecipe;
  readonly setupModules: readonly string[];
  readonly trajectory: Trajectory;
  readonly data: TrainingData;
}

const CHUNK = 4 * 1024 * 1024;

/** Serialises the run (v8 structured clone keeps typed arrays and the checkpoint Map). */
export function encodeRun(run: RunBlob): { key: string; bytes: Buffer } {
  const bytes = serialize(run);
  const key = createHash('sha256').update(bytes).digest('hex');
  return { key, bytes };
}

/** Writes the run once (content-addressed: a second writer of the same run writes nothing). */
export async function publishRun(pool: pg.Pool, key: string, bytes: Buffer): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const head = await client.query(
      'INSERT INTO lethe_queue_runs (run, chunks, bytes) VALUES ($1, $2, $3) ON CONFLICT (run) DO NOTHING',
      [key, Math.ceil(bytes.length / CHUNK), bytes.length],
    );
    if (head.rowCount === 1) {
      for (let seq = 0, at = 0; at < bytes.length; seq++, at += CHUNK) {
        await client.query(
          'INSERT INTO lethe_queue_run_chunks (run, seq, bytes) VALUES ($1, $2, $3)',
          [key, seq, bytes.subarray(at, at + CHUNK)],
        );
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

/** Reads a run back and checks its bytes against its key. */
export async function loadRun(pool: pg.Pool, key: string): Promise<RunBlob> {
  const head = await pool.query('SELECT chunks, bytes FROM lethe_queue_runs WHERE run = $1', [key]);
  if (head.rowCount !== 1) {
    throw new LetheError(
      'not-found',
      `lethe-worker: run ${key} is not in this database: the worker is connected to another database than the coordinator.`,
    );
  }
  const { rows } = await pool.query<{ bytes: Buffer }>(
    'SELECT bytes FROM lethe_queue_run_chunks WHERE run = $1 ORDER BY seq',
    [key],
  );
  const bytes = Buffer.concat(rows.map((r) => r.bytes));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (rows.length !== head.rows[0].chunks || sha !== key) {
    throw new LetheError(
      'corrupt-store',
      `lethe-worker: run ${key} read back with ${rows.length} chunks and SHA-256 ${sha}: its stored chunks are damaged; delete the run's rows and enqueue again.`,
    );
  }
  return deserialize(bytes) as RunBlob;
}
