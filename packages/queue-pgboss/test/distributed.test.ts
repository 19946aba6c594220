import { useBackend } from '@lethe/autodiff';
import { recollect, storeIdentity, Unlearner } from '@lethe/recollect';
import { createMemoryStore } from '@lethe/store';
import { openPostgresStore } from '@lethe/store-postgres';
import { serverPresent, startServer, type TestServer } from '@lethe/vitest-config/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgBossExecutor, type QueueProgress } from '../src/index.js';
import { tinyRun, WorkerProcess } from './fixtures.js';

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.skipIf(!serverPresent)('recollect on pg-boss with lethe-worker processes', () => {
  let server: TestServer;
  beforeAll(async () => {
    await useBackend('wasm');
    server = await startServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('survives a worker killed mid-block and writes the single-process rows bit for bit', async () => {
    const { data, model, trajectory } = tinyRun();
    const blockSize = 4;
    const reference = createMemoryStore(storeIdentity(model, trajectory));
    await recollect({ model, data, trajectory, store: reference, workers: 1, blockSize });

    const url = server.url();
    const pool = new pg.Pool({ connectionString: url });
    const shared = await openPostgresStore({ pool }, storeIdentity(model, trajectory), {
      create: true,
    });
    // 18 steps x 40 ms: a job takes about 0.7 s, long enough to be killed in the middle.
    const workers = ['a', 'b', 'c'].map((name) => new WorkerProcess(url, name, 40));
    const seen: QueueProgress[] = [];
    try {
      const running = recollect({
        model,
        data,
        trajectory,
        store: shared,
        blockSize,
        executor: pgBossExecutor({
          url,
          expireInSeconds: 2,
          pollSeconds: 0.2,
          blocksPerJob: 2, // 12 blocks of 4 rows as 6 jobs
          onQueueProgress: (p) => seen.push(p),
        }),
      });
      const started = await workers[0]!.waitFor(/block \d+ started/);
      workers[0]!.child.kill('SIGKILL');
      const killedBlock = Number(/block (\d+)/.exec(started)![1]);
      const result = await running;

      expect(result.ids.length).toBe(data.n);
      // No row from the killed worker; its block was retried by another.
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM lethe_queue_blocks');
      expect(rows[0].n).toBe(0); // collected and cleared after the run
      const others = [...workers[1]!.lines, ...workers[2]!.lines];
      expect(others.some((l) => l.includes(`block ${killedBlock} written`))).toBe(true);
      expect(workers[0]!.lines.some((l) => l.includes('written'))).toBe(false);

      const ids = Array.from({ length: data.n }, (_, i) => i);
      expect(bytes(await shared.readRows(ids)).equals(bytes(await reference.readRows(ids)))).toBe(
        true,
      );
      // Progress came from the queue: jobs were seen queued or running, and all done at the end.
      const last = seen.at(-1)!;
      expect(last).toMatchObject({ done: 6, total: 6, failed: 0, queued: 0, running: 0 });
      expect(seen.some((p) => p.queued + p.running > 0 && p.done < 6)).toBe(true);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
      await shared.close();
      await pool.end();
    }
  }, 60_000);

  it('serves a lazy deletion request through the same queue', async () => {
    const { data, model, trajectory } = tinyRun();
    const url = server.url();
    const workers = ['d', 'e'].map((name) => new WorkerProcess(url, name, 0));
    try {
      const local = await Unlearner.open(model, trajectory, { kind: 'lazy', data });
      const queued = await Unlearner.open(model, trajectory, {
        kind: 'lazy',
        data,
        executor: pgBossExecutor({ url, pollSeconds: 0.2 }),
      });
      await local.forgetBatch([3, 17, 40]);
      await queued.forgetBatch([3, 17, 40]);
      expect(bytes(queued.weights).equals(bytes(local.weights))).toBe(true);
      const lines = workers.flatMap((w) => w.lines);
      expect(lines.some((l) => / block 0 written/.test(l))).toBe(true);
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
  }, 60_000);

  it('runs jobs on several threads of one lethe-worker process (--threads)', async () => {
    const { data, model, trajectory } = tinyRun();
    const blockSize = 4;
    const reference = await recollect({ model, data, trajectory, workers: 1, blockSize });
    const url = server.url();
    // A step delay keeps each job busy long enough for the other thread to take the next one.
    const worker = new WorkerProcess(url, 'f', 20, ['--threads', '2']);
    try {
      const queued = await recollect({
        model,
        data,
        trajectory,
        blockSize,
        executor: pgBossExecutor({ url, pollSeconds: 0.2, blocksPerJob: 1 }),
      });
      expect(bytes(queued.vectors).equals(bytes(reference.vectors))).toBe(true);
      const written = worker.lines.filter((l) => / written /.test(l));
      expect(written.some((l) => l.startsWith('f/t0 '))).toBe(true);
      expect(written.some((l) => l.startsWith('f/t1 '))).toBe(true);
    } finally {
      await worker.stop();
    }
    expect(worker.child.exitCode).toBe(0); // both threads stopped on SIGTERM
  }, 60_000);
});
