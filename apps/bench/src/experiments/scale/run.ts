import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { LetheError } from '@lethe/core';
import { pgBossExecutor } from '@lethe/queue-pgboss';
import { recollect, train } from '@lethe/recollect';
import { serverPresent, startServer, type TestServer } from '@lethe/vitest-config/postgres';
import { progressLine } from '../../progress.js';
import { type ExperimentFlags, setUp } from '../../setup.js';
import { median } from '../../stats.js';

export interface ScaleFlags extends ExperimentFlags {
  readonly n: number;
  readonly blockSize: number;
  readonly blocksPerJob: number;
  readonly rounds: number;
  readonly database?: string;
}

export interface ScaleResult {
  readonly n: number;
  readonly d: number;
  readonly steps: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly blocksPerJob: number;
  readonly jobs: number;
  readonly backend: string;
  /** Medians over the rounds. */
  readonly inProcessSeconds: number;
  readonly processes: { count: number; seconds: number; speedup: number }[];
  /**
   * The queue's own time with one process (its total less the worker's recursion seconds:
   * publishing the run, polls, loading the run, writing and collecting rows), over the
   * in-process time. Medians.
   */
  readonly queueOverhead: number;
  readonly queueSeconds: number;
  /** (1 process - in process) / in process: includes the machine's drift between the runs. */
  readonly endToEndOverhead: number;
  readonly identical: boolean;
  /** Each round's seconds (interleaved: in process, 1 process, 2 processes). */
  readonly rounds: { inProcess: number[]; oneProcess: number[]; twoProcesses: number[] };
  /** 1-, 5- and 15-minute load averages before and after the measurement. */
  readonly loadAverage: { before: number[]; after: number[] };
  readonly cores: number;
}

const require = createRequire(import.meta.url);
const BIN = join(dirname(require.resolve('@lethe/queue-pgboss/package.json')), 'dist', 'bin.js');

function startWorkers(url: string, count: number): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<ChildProcess>((resolve, reject) => {
          const child = spawn(process.execPath, [BIN, '--database', url, '--name', `w${i}`], {
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let log = '';
          child.stderr!.on('data', (chunk: Buffer) => {
            log += chunk.toString();
            // Ready once subscribed: worker start-up (wasm, pg-boss) is not part of the timing.
            if (log.includes('waiting for blocks')) resolve(child);
          });
          child.once('exit', (code) =>
            reject(new LetheError('worker-failed', `lethe-worker exited (${code}): ${log}`)),
          );
        }),
    ),
  );
}

async function stopWorkers(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.removeAllListeners('exit');
          if (c.exitCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
}

/** `pnpm bench scale`: in-process recollect vs 1 and 2 lethe-worker processes on pg-boss. */
export async function runScale(flags: ScaleFlags): Promise<ScaleResult> {
  if (!flags.database && !serverPresent) {
    throw new LetheError(
      'unsupported',
      'bench scale: no Postgres server is installed: apt-get install -y postgresql, or pass --database URL.',
    );
  }
  const setup = await setUp(flags);
  const { model, config, trainingData: data } = setup;
  process.stderr.write(`scale: training ${model.name} on n = ${data.n} ...\n`);
  const { trajectory } = train(model, data, config);
  const before = loadavg();
  const blockSize = flags.blockSize;
  // Rounds interleave the three runs (in process, 1 process, 2 processes), so that a slow
  // spell of the shared machine hits all of them; the result is each run's median.
  const inProcess: number[] = [];
  const queued: Record<1 | 2, number[]> = { 1: [], 2: [] };
  const queueOwn: number[] = [];
  let identical = true;
  let server: TestServer | undefined;
  try {
    if (!flags.database) server = await startServer();
    const url = flags.database ?? server!.url();
    for (let round = 1; round <= flags.rounds; round++) {
      const tag = flags.rounds > 1 ? ` (round ${round} of ${flags.rounds})` : '';
      const local = await recollect({
        model,
        data,
        trajectory,
        workers: 1,
        blockSize,
        onProgress: (
          (line) => (p) =>
            line(p.fraction)
        )(progressLine(`scale: in process${tag}`)),
      });
      inProcess.push(local.seconds);
      for (const count of [1, 2] as const) {
        // Coordinator and workers are long-lived services: connected before the clock starts.
        const workers = await startWorkers(url, count);
        let recursionSeconds = Number.NaN;
        const executor = pgBossExecutor({
          url,
          pollSeconds: 0.1,
          blocksPerJob: flags.blocksPerJob,
          onQueueProgress: (p) => {
            recursionSeconds = p.recursionSeconds;
          },
        });
        await executor.start();
        try {
          const line = progressLine(`scale: ${count} process${count > 1 ? 'es' : ''}${tag}`);
          const run = await recollect({
            model,
            data,
            trajectory,
            blockSize,
            executor,
            onProgress: (p) => line(p.fraction),
          });
          identical &&= Buffer.from(run.vectors.buffer).equals(Buffer.from(local.vectors.buffer));
          queued[count].push(run.seconds);
          // One process: what is not recursion is the queue's (the recursion's own speed drifts
          // with the shared machine between runs; this split does not).
          if (count === 1) queueOwn.push(run.seconds - recursionSeconds);
        } finally {
          await executor.close();
          await stopWorkers(workers);
        }
      }
    }
  } finally {
    await server?.stop();
  }
  const inProcessSeconds = median(inProcess);
  const one = median(queued[1]);
  const processes = ([1, 2] as const).map((count) => ({
    count,
    seconds: median(queued[count]),
    speedup: one / median(queued[count]),
  }));
  return {
    n: data.n,
    d: model.d,
    steps: trajectory.steps.length,
    blockSize,
    blocks: Math.ceil(data.n / blockSize),
    blocksPerJob: flags.blocksPerJob,
    jobs: Math.ceil(Math.ceil(data.n / blockSize) / flags.blocksPerJob),
    backend: setup.backend.name,
    inProcessSeconds,
    processes,
    queueOverhead: median(queueOwn) / inProcessSeconds,
    queueSeconds: median(queueOwn),
    endToEndOverhead: (one - inProcessSeconds) / inProcessSeconds,
    rounds: { inProcess, oneProcess: queued[1], twoProcesses: queued[2] },
    identical,
    loadAverage: { before, after: loadavg() },
    cores: (await import('node:os')).availableParallelism(),
  };
}
