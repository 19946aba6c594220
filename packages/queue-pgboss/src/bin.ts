#!/usr/bin/env node
import { parseArgs } from 'node:util';
import type { BackendName } from '@lethe/autodiff';
import { startWorker } from './worker.js';

const usage = `usage: lethe-worker --database URL [--name NAME] [--backend wasm|node|cpu]

Takes recollection blocks from the pg-boss queue in that Postgres database, computes them in
this process (one thread) and writes their rows there. Start one per core, on any machine that
reaches the database. Stops on SIGINT/SIGTERM after the block in hand.`;

async function main(): Promise<void> {
  let values: {
    database?: string;
    name?: string;
    backend?: string;
    help?: boolean;
    'step-delay-ms'?: string;
  };
  try {
    ({ values } = parseArgs({
      options: {
        database: { type: 'string' },
        name: { type: 'string' },
        backend: { type: 'string' },
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
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const worker = await startWorker({
    url,
    name: values.name,
    backend: values.backend as BackendName | undefined,
    // The recursion runs synchronously, so the pause blocks the thread (as a long step would).
    onStep: delay > 0 ? () => Atomics.wait(pause, 0, 0, delay) : undefined,
  });
  const stop = () => {
    void worker.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main().catch((error) => {
  process.stderr.write(`lethe-worker: ${(error as Error).message}\n`);
  process.exit(1);
});
