import { backendInfo, recipeOf, useBackend } from '@lethe/autodiff';
import { recollect } from '@lethe/recollect';
import { serverPresent, startServer, type TestServer } from '@lethe/vitest-config/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockComputer } from '../src/compute.js';
import { codeDigest } from '../src/digests.js';
import { pgBossExecutor } from '../src/index.js';
import type { BlockJob } from '../src/job.js';
import { encodeRun, publishRun } from '../src/run-blob.js';
import { ensureSchema } from '../src/schema.js';
import { tinyRun } from './fixtures.js';

describe.skipIf(!serverPresent)('a block job on a worker', () => {
  let server: TestServer;
  let pool: pg.Pool;
  let run: ReturnType<typeof tinyRun>;
  let job: BlockJob;
  beforeAll(async () => {
    await useBackend('wasm');
    run = tinyRun();
    server = await startServer();
    pool = new pg.Pool({ connectionString: server.url() });
    await ensureSchema(pool);
    const { key, bytes } = encodeRun({
      backend: backendInfo().name,
      recipe: recipeOf(run.model),
      setupModules: [],
      trajectory: run.trajectory,
      data: run.data,
    });
    await publishRun(pool, key, bytes);
    await publishRun(pool, key, bytes); // written once: the second publish is a no-op
    job = {
      run: key,
      call: 'call-1',
      block: 2,
      ids: [8, 9, 10, 11, 30],
      blockSize: 2, // three of the recursion's blocks in one job
      codeDigest: codeDigest(),
      modelDigest: run.model.digest,
      trajectoryDigest: run.trajectory.digest,
      dataDigest: run.trajectory.dataDigest,
    };
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });

  it('finished twice, writes its rows once, equal to in-process ones', async () => {
    const computer = new BlockComputer(pool, 'w1');
    expect(await computer.process(job)).toBe(true);
    expect(await new BlockComputer(pool, 'w2').process(job)).toBe(false);
    const { rows } = await pool.query('SELECT rows, worker FROM lethe_queue_blocks');
    expect(rows).toHaveLength(1);
    expect(rows[0].worker).toBe('w1');
    const { vectors } = await recollect({ ...run, ids: job.ids, workers: 1, blockSize: 2 });
    expect(Buffer.compare(rows[0].rows, Buffer.from(vectors.buffer))).toBe(0);
    const chunks = await pool.query('SELECT count(*)::int AS n FROM lethe_queue_runs');
    expect(chunks.rows[0].n).toBe(1);
    computer.dispose();
  });

  it.each([
    ['codeDigest', /enqueued by code with digest x.*same versions/],
    ['modelDigest', /model digest is x but the model rebuilt here/],
    ['trajectoryDigest', /names trajectory x but the stored run hashes to/],
    ['dataDigest', /names data x/],
  ] as const)('refuses a job whose %s differs, writing nothing', async (field, message) => {
    const computer = new BlockComputer(pool, 'w3');
    await expect(computer.process({ ...job, call: `bad-${field}`, [field]: 'x' })).rejects.toThrow(
      message,
    );
    const { rows } = await pool.query('SELECT 1 FROM lethe_queue_blocks WHERE call = $1', [
      `bad-${field}`,
    ]);
    expect(rows).toHaveLength(0);
    computer.dispose();
  });

  it('refuses a run that is not in the database', async () => {
    await expect(
      new BlockComputer(pool, 'w4').process({ ...job, run: 'f'.repeat(64) }),
    ).rejects.toThrow(/is not in this database/);
  });
});

describe('pgBossExecutor', () => {
  it('names an unreachable database without its password', async () => {
    const executor = pgBossExecutor({ url: 'postgres://lethe:secret@127.0.0.1:1/lethe' });
    const failure = executor.start();
    await expect(failure).rejects.toThrow(/cannot prepare the queue in postgres:\/\/lethe:\*\*\*@/);
    await expect(failure).rejects.not.toThrow(/secret/);
    await executor.close();
  });
});
