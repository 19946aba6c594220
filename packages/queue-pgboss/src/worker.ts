import { hostname } from 'node:os';
import { type BackendName, useBackend } from '@lethe/autodiff';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { BlockComputer } from './compute.js';
import type { BlockJob } from './job.js';
import { ensureSchema, QUEUE } from './schema.js';

export interface WorkerOptions {
  /** Postgres connection string, the coordinator's database. */
  readonly url: string;
  /** Names the worker in the rows it writes and in its log (default host:pid). */
  readonly name?: string;
  /**
   * Backend loaded before the first job (default: the best that loads); a job recorded on
   * another switches to that one, since rows are bit for bit only on the run's backend.
   */
  readonly backend?: BackendName;
  /** Seconds between polls of the queue when idle (default 0.5). */
  readonly pollSeconds?: number;
  /** Log lines (block started / finished / refused); default stderr. */
  readonly log?: (line: string) => void;
  /** Called after each step of the recursion (for progress, or to slow a worker in a test). */
  readonly onStep?: (step: number, total: number) => void;
}

export interface RunningWorker {
  /** Stops taking jobs; the block in hand is finished first. */
  stop(): Promise<void>;
}

/**
 * Takes block jobs from the queue one at a time in this thread, computes each block's rows and
 * inserts them into the shared database. Run one per core (`lethe-worker`).
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  await useBackend(options.backend);
  const pool = new pg.Pool({ connectionString: options.url, max: 2 });
  // The coordinator supervises the queue (expiry, retries); workers only fetch and complete.
  const boss = new PgBoss({
    connectionString: options.url,
    max: 2,
    supervise: false,
    schedule: false,
  });
  boss.on('error', (error) => log(`${name} pg-boss: ${error.message}`));
  await boss.start();
  await ensureSchema(pool);
  await boss.createQueue(QUEUE);
  const computer = new BlockComputer(pool, name, options.onStep);
  await boss.work<BlockJob>(
    QUEUE,
    { batchSize: 1, pollingIntervalSeconds: options.pollSeconds ?? 0.5 },
    async ([job]) => {
      const data = job!.data;
      log(`${name} block ${data.block} started (${data.ids.length} rows)`);
      const started = performance.now();
      try {
        const wrote = await computer.process(data);
        const seconds = ((performance.now() - started) / 1000).toFixed(2);
        log(
          `${name} block ${data.block} ${wrote ? 'written' : 'already written'} (${seconds} s, recursion ${computer.lastComputeSeconds.toFixed(2)} s)`,
        );
        // The job's output (pg-boss keeps it): the coordinator tells queue time from compute time.
        return { recursionSeconds: computer.lastComputeSeconds, worker: name };
      } catch (error) {
        log(`${name} block ${data.block} refused: ${(error as Error).message}`);
        throw error;
      }
    },
  );
  log(`${name} waiting for blocks on ${QUEUE}`);
  return {
    async stop() {
      await boss.stop({ graceful: true, close: true, wait: true });
      computer.dispose();
      await pool.end();
    },
  };
}
