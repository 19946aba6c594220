// Public API of @lethe/queue-pgboss: recollection blocks as pg-boss jobs on Postgres.
export { codeDigest } from './digests.js';
export {
  type PgBossExecutor,
  type PgBossExecutorOptions,
  pgBossExecutor,
  type QueueProgress,
} from './executor.js';
export type { BlockJob } from './job.js';
export { type RunningWorker, startWorker, type WorkerOptions } from './worker.js';
