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

export interface ScaleFlags extends ExperimentFlags {
  readonly n: number;
  readonly blockSize: number;
  readonly database?: string;
}

export interface ScaleResult {
  readonly n: number;
  readonly d: number;
  readonly steps: number;
  readonly blockSize: number;
  readonly blocks: number;
  readonly backend: string;
  readonly inProcessSeconds: number;
  readonly processes: { count: number; seconds: number; speedup: number }[];
  /** (1 process - in process) / in process. */
  readonly queueOverhead: number;
  readonly identical: boolean;
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
  const local = await recollect({
    model,
    data,
    trajectory,
    workers: 1,
    blockSize,
    onProgress: (
      (line) => (p) =>
        line(p.fraction)
    )(progressLine('scale: in process')),
  });
  let server: TestServer | undefined;
  const processes: ScaleResult['processes'] = [];
  let identical = true;
  try {
    if (!flags.database) server = await startServer();
    const url = flags.database ?? server!.url();
    for (const count of [1, 2]) {
      // Coordinator and workers are long-lived services: connected before the clock starts.
      const workers = await startWorkers(url, count);
      const executor = pgBossExecutor({ url, pollSeconds: 0.1 });
      await executor.start();
      try {
        const line = progressLine(`scale: ${count} process${count > 1 ? 'es' : ''}`);
        const queued = await recollect({
          model,
          data,
          trajectory,
          blockSize,
          executor,
          onProgress: (p) => line(p.fraction),
        });
        const a = Buffer.from(queued.vectors.buffer);
        identical &&= a.equals(Buffer.from(local.vectors.buffer));
        processes.push({ count, seconds: queued.seconds, speedup: Number.NaN });
      } finally {
        await executor.close();
        await stopWorkers(workers);
      }
    }
  } finally {
    await server?.stop();
  }
  const one = processes[0]!.seconds;
  for (const p of processes) p.speedup = one / p.seconds;
  return {
    n: data.n,
    d: model.d,
    steps: trajectory.steps.length,
    blockSize,
    blocks: Math.ceil(data.n / blockSize),
    backend: setup.backend.name,
    inProcessSeconds: local.seconds,
    processes,
    queueOverhead: (one - local.seconds) / local.seconds,
    identical,
    loadAverage: { before, after: loadavg() },
    cores: (await import('node:os')).availableParallelism(),
  };
}
