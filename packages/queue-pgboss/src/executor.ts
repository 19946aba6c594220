import { randomUUID } from 'node:crypto';
import { backendInfo, recipeOf } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import type { RecollectExecutor, RecollectWork } from '@lethe/recollect';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { codeDigest } from './digests.js';
import type { BlockJob } from './job.js';
import { encodeRun, publishRun } from './run-blob.js';
import { ensureSchema, QUEUE } from './schema.js';

/** Jobs of one recollection by state, from pg-boss's job table, and an ETA. */
export interface QueueProgress {
  readonly queued: number;
  readonly running: number;
  readonly done: number;
  /** Jobs that failed for good (retries used up); the recollection rejects. */
  readonly failed: number;
  readonly total: number;
  readonly elapsedSeconds: number;
  /** Seconds left at the rate of jobs done so far (NaN before the first). */
  readonly etaSeconds: number;
  /**
   * Seconds the workers spent in the recursion of the jobs done so far (their sum): the rest of
   * elapsed x workers is the queue's own time (publishing, polling, loading the run, rows).
   */
  readonly recursionSeconds: number;
}

export interface PgBossExecutorOptions {
  /** Postgres connection string (the database the workers connect to). */
  readonly url: string;
  /**
   * Seconds a block may stay active before pg-boss expires it and hands it to another worker
   * (a worker killed mid-block is noticed this way). Default 900: longer than any block.
   */
  readonly expireInSeconds?: number;
  /** Tries after the first (default 3). */
  readonly retryLimit?: number;
  /**
   * The recursion's blocks per job (default 4). Every block of a job shares the per-step work
   * (the step's weights, batch gradient and clipping state), which a job of one block repeats
   * for itself; fewer, larger jobs cost less, more jobs balance better across workers and lose
   * less to a killed worker.
   */
  readonly blocksPerJob?: number;
  /** How often the coordinator reads the queue's state (default 0.5 s). */
  readonly pollSeconds?: number;
  readonly onQueueProgress?: (progress: QueueProgress) => void;
}

/** The pg-boss executor; `start` keeps its connections open across recollections. */
export interface PgBossExecutor extends RecollectExecutor {
  /**
   * Connects and prepares the queue now (a long-lived coordinator does this once). Without it
   * each recollection connects and disconnects by itself.
   */
  start(): Promise<void>;
  close(): Promise<void>;
}

interface Connection {
  readonly pool: pg.Pool;
  readonly boss: PgBoss;
}

/**
 * A recollect executor that enqueues one pg-boss job per block of samples and waits for
 * `lethe-worker` processes (anywhere that reaches the database) to write the blocks' rows.
 * The run (trajectory, data, model recipe) is written once to the database, where every worker
 * reads it.
 */
export function pgBossExecutor(options: PgBossExecutorOptions): PgBossExecutor {
  let kept: Promise<Connection> | undefined;
  return {
    name: 'pg-boss',
    async start() {
      kept ??= connect(options.url).catch((error) => {
        kept = undefined; // a failed start can be retried
        throw error;
      });
      await kept;
    },
    async close() {
      const c = kept;
      kept = undefined;
      if (c) await disconnect(await c);
    },
    async run(work) {
      const own = kept === undefined;
      const c = await (kept ?? connect(options.url));
      try {
        return await runOnQueue(c, work, options);
      } finally {
        if (own) await disconnect(c);
      }
    },
  };
}

async function connect(url: string): Promise<Connection> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const boss = new PgBoss({
    connectionString: url,
    max: 2,
    // The coordinator supervises: expired blocks (killed workers) go back to the queue fast.
    supervise: true,
    maintenanceIntervalSeconds: 1,
    schedule: false,
  });
  boss.on('error', (error) => process.stderr.write(`pg-boss: ${error.message}\n`));
  try {
    await boss.start();
    await ensureSchema(pool);
    await boss.createQueue(QUEUE);
  } catch (error) {
    await disconnect({ pool, boss });
    throw new LetheError(
      'io',
      `pgBossExecutor: cannot prepare the queue in ${redact(url)}: ${(error as Error).message}. Check the URL and that the server is running.`,
      { cause: error },
    );
  }
  return { pool, boss };
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

async function disconnect({ pool, boss }: Connection): Promise<void> {
  await boss.stop({ graceful: false, close: true }).catch(() => {});
  await pool.end().catch(() => {});
}

async function runOnQueue(
  { pool, boss }: Connection,
  work: RecollectWork,
  options: PgBossExecutorOptions,
): Promise<Float32Array> {
  if (work.initial) {
    throw new LetheError(
      'unsupported',
      'pgBossExecutor: starting vectors (`initial`, as repair passes) are not sent to the queue; run repair in-process.',
    );
  }
  const { model, trajectory, data } = work;
  const started = performance.now();
  const { key, bytes } = encodeRun({
    backend: backendInfo().name,
    recipe: recipeOf(model),
    setupModules: work.setupModules,
    trajectory,
    data: { x: data.x, y: data.y, n: data.n },
  });
  await publishRun(pool, key, bytes);
  const call = randomUUID();
  const slices = jobSlices(work.blocks, options.blocksPerJob ?? 4);
  const jobs = slices.map(
    (ids, block): BlockJob => ({
      run: key,
      call,
      block,
      ids: Array.from(ids),
      blockSize: work.blockSize,
      codeDigest: codeDigest(),
      modelDigest: model.digest,
      trajectoryDigest: trajectory.digest,
      dataDigest: trajectory.dataDigest,
    }),
  );
  await boss.insert(
    jobs.map((data) => ({
      name: QUEUE,
      data,
      retryLimit: options.retryLimit ?? 3,
      retryDelay: 0,
      expireInSeconds: options.expireInSeconds ?? 900,
    })),
  );
  await waitForBlocks(pool, call, jobs.length, started, work, options);
  return await collect(pool, call, work, slices);
}

/** Consecutive runs of `per` blocks, each as one array of ids. */
function jobSlices(blocks: readonly Int32Array[], per: number): Int32Array[] {
  if (!(Number.isInteger(per) && per >= 1)) {
    throw new LetheError(
      'invalid-argument',
      `pgBossExecutor: blocksPerJob ${per} must be an integer >= 1.`,
    );
  }
  const out: Int32Array[] = [];
  for (let b = 0; b < blocks.length; b += per) {
    const group = blocks.slice(b, b + per);
    const ids = new Int32Array(group.reduce((s, g) => s + g.length, 0));
    let at = 0;
    for (const g of group) {
      ids.set(g, at);
      at += g.length;
    }
    out.push(ids);
  }
  return out;
}

async function waitForBlocks(
  pool: pg.Pool,
  call: string,
  total: number,
  started: number,
  work: RecollectWork,
  options: PgBossExecutorOptions,
): Promise<void> {
  const poll = (options.pollSeconds ?? 0.5) * 1000;
  let hinted = false;
  for (;;) {
    // The queue's own state: pg-boss's job rows of this call, by state.
    const { rows } = await pool.query<{ state: string; count: string; recursion: number | null }>(
      `SELECT state, count(*), sum((output->>'recursionSeconds')::float8) AS recursion
         FROM pgboss.job WHERE name = $1 AND data->>'call' = $2 GROUP BY state`,
      [QUEUE, call],
    );
    const by = Object.fromEntries(rows.map((r) => [r.state, Number(r.count)]));
    const done = by.completed ?? 0;
    const failed = (by.failed ?? 0) + (by.cancelled ?? 0);
    const elapsedSeconds = (performance.now() - started) / 1000;
    const progress: QueueProgress = {
      queued: (by.created ?? 0) + (by.retry ?? 0),
      running: by.active ?? 0,
      done,
      failed,
      total,
      elapsedSeconds,
      etaSeconds: done > 0 ? (elapsedSeconds * (total - done)) / done : Number.NaN,
      recursionSeconds: Number(rows.find((r) => r.state === 'completed')?.recursion ?? 0),
    };
    options.onQueueProgress?.(progress);
    work.report(done / total);
    if (failed > 0) {
      const { rows: bad } = await pool.query<{ output: { message?: string } | null }>(
        `SELECT output FROM pgboss.job WHERE name = $1 AND data->>'call' = $2 AND state IN ('failed', 'cancelled') LIMIT 1`,
        [QUEUE, call],
      );
      throw new LetheError(
        'worker-failed',
        `pgBossExecutor: ${failed} of ${total} blocks failed after their retries: ${bad[0]?.output?.message ?? 'no message'}`,
      );
    }
    if (done === total) return;
    if (!hinted && progress.running === 0 && done === 0 && elapsedSeconds > 30) {
      hinted = true;
      process.stderr.write(
        `pgBossExecutor: no worker has taken any of ${total} blocks in 30 s: start lethe-worker --database URL on a machine that reaches this database.\n`,
      );
    }
    await new Promise((r) => setTimeout(r, poll));
  }
}

async function collect(
  pool: pg.Pool,
  call: string,
  work: RecollectWork,
  slices: readonly Int32Array[],
): Promise<Float32Array> {
  const { d } = work.model;
  const { rows } = await pool.query<{ block: number; rows: Buffer }>(
    'SELECT block, rows FROM lethe_queue_blocks WHERE call = $1 ORDER BY block',
    [call],
  );
  const out = new Float32Array(work.ids.length * d);
  const offsets = [0];
  for (const s of slices) offsets.push(offsets.at(-1)! + s.length * d);
  if (rows.length !== slices.length) {
    throw new LetheError(
      'worker-failed',
      `pgBossExecutor: ${rows.length} of ${slices.length} jobs have rows though the queue says all completed.`,
    );
  }
  for (const r of rows) {
    const bytes = new Uint8Array(r.rows.buffer, r.rows.byteOffset, r.rows.byteLength);
    new Uint8Array(out.buffer, offsets[r.block]! * 4, bytes.length).set(bytes);
  }
  await pool.query('DELETE FROM lethe_queue_blocks WHERE call = $1', [call]);
  return out;
}
