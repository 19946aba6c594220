#!/usr/bin/env node
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '@lethe/autodiff';
import { startWorker } from './worker.js';

const usage = `usage: lethe-worker --database URL [--name NAME] [--threads N] [--backend wasm|node|cpu]

Takes recollection jobs from the pg-boss queue in that Postgres database, computes them in
this process and writes their rows there: one job at a time per thread (--threads, default 1;
one per core). Start one on every machine that reaches the database. Stops on SIGINT/SIGTERM
after the jobs in hand.`;

async function main(): Promise<void> {
  let values: {
    database?: string;
    name?: string;
    backend?: string;
    threads?: string;
    help?: boolean;
    'step-delay-ms'?: string;
  };
  try {
    ({ values } = parseArgs({
      options: {
        database: { type: 'string' },
        name: { type: 'string' },
        backend: { type: 'string' },
        threads: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        // Sleeps after each step: lets fault tests kill a worker mid-block.
        'step-delay-ms': { type: 'string' },
      },
    }));
  } catch (error) {
    process.stderr.write(`lethe-worker: ${(error as Error).message}\n${usage}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const url = values.database ?? process.env.LETHE_DATABASE_URL;
  if (!url) {
    process.stderr.write(
      `lethe-worker: --database URL is required (or LETHE_DATABASE_URL).\n${usage}\n`,
    );
    process.exit(2);
  }
  const delay = Number(values['step-delay-ms'] ?? 0);
  const threads = Number(values.threads ?? 1);
  if (!(Number.isInteger(threads) && threads >= 1)) {
    process.stderr.write(`lethe-worker: --threads ${values.threads} must be an integer >= 1.\n`);
    process.exit(2);
  }
  const name = values.name ?? `${hostname()}:${process.pid}`;
  const backend = values.backend as BackendName | undefined;
  if (threads === 1) {
    const pause = new Int32Array(new SharedArrayBuffer(4));
    const worker = await startWorker({
      url,
      name,
      backend,
      // The recursion runs synchronously, so the pause blocks the thread (as a long step would).
      onStep: delay > 0 ? () => Atomics.wait(pause, 0, 0, delay) : undefined,
    });
    const stop = () => {
      void worker.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  // Each thread is a worker of its own (its backend, its connections), named NAME/tI.
  const pool = Array.from(
    { length: threads },
    (_, i) =>
      new Worker(new URL('./thread.js', import.meta.url), {
        workerData: { options: { url, name: `${name}/t${i}`, backend }, stepDelayMs: delay },
      }),
  );
  let stopping = false;
  for (const t of pool) {
    t.once('error', (error) => {
      process.stderr.write(`lethe-worker: a thread failed: ${error.message}\n`);
      process.exit(1);
    });
    t.once('exit', (code) => {
      if (!stopping) {
        process.stderr.write(`lethe-worker: a thread exited (${code}) unasked; stopping.\n`);
        process.exit(1);
      }
    });
  }
  const stop = () => {
    stopping = true;
    void Promise.all(
      pool.map((t) => new Promise((resolve) => t.once('exit', resolve)).then(() => undefined)),
    ).then(() => process.exit(0));
    for (const t of pool) t.postMessage('stop');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main().catch((error) => {
  process.stderr.write(`lethe-worker: ${(error as Error).message}\n`);
  process.exit(1);
});
