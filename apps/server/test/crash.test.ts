// Exactly once across crashes: a child server process is killed with SIGKILL at each stage
// between accepting a request and recording its release, restarted, and the databases checked:
// weights = original + the applied vectors (before noise), no vector applied twice, none lost,
// every accepted request done.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { storeIdentity } from '@lethe/recollect';
import type { ApproximatorStore } from '@lethe/store';
import { openPostgresStore } from '@lethe/store-postgres';
import { serverPresent, startServer, type TestServer } from '@lethe/vitest-config/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openPglite } from '../src/db.js';
import { FAULT_STAGES, type FaultStage } from '../src/faults.js';
import { SERVICE_SCHEMA as S } from '../src/migrations.js';
import { ADMIN, blobsModel, CLI, expectedWeights, freshDataDir } from './helpers.js';

interface Child {
  readonly process: ChildProcess;
  readonly url: string;
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

async function startChild(where: string[], fault?: FaultStage): Promise<Child> {
  // Plain VACUUM after each commit: the scrub (VACUUM FULL, WAL switch) is the store's own
  // tested path, and here it would cost seconds per test.
  const child = spawn(
    process.execPath,
    [CLI, '--model', 'blobs-logistic', '--port', '0', '--erasure', 'vacuum', ...where],
    {
      env: {
        ...process.env,
        LETHE_ADMIN_TOKEN: ADMIN,
        LETHE_BACKEND: 'wasm',
        ...(fault === undefined ? {} : { LETHE_SERVER_FAULT: fault }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (b) => {
    stderr += b;
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b) => {
      out += b;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line).listening);
    });
    exited.then((how) => reject(new Error(`server exited (${how}) before listening: ${stderr}`)));
  });
  return { process: child, url, exited };
}

async function submit(url: string, ids: number[], key: string): Promise<Response | Error> {
  return fetch(`${url}/v1/deletions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sampleIds: ids, idempotencyKey: key }),
  }).catch((e: Error) => e);
}

async function waitDone(url: string, id: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const res = await fetch(`${url}/v1/deletions/${id}`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    if (((await res.json()) as { request: { state: string } }).request.state === 'done') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`request ${id} not done`);
}

async function stop(child: Child): Promise<void> {
  child.process.kill('SIGTERM');
  await child.exited;
}

/** The scenario: [5] crashes at `fault`, is retried with its key after a restart; then [6, 7]. */
async function crashAndRecover(where: string[], fault: FaultStage): Promise<void> {
  const first = await startChild(where, fault);
  const response = await submit(first.url, [5], 'crash');
  expect(await first.exited).toBe('SIGKILL');
  if (fault === 'after-accept') expect(response).toBeInstanceOf(Error);
  else expect((response as Response).status).toBe(202);

  const second = await startChild(where);
  try {
    // The client does not know what happened: it sends the request again with its key.
    const retry = (await submit(second.url, [5], 'crash')) as Response;
    expect(retry.status).toBe(200); // the same request, accepted before the crash
    const { id } = (await retry.json()) as { id: string };
    await waitDone(second.url, id);
    const next = (await submit(second.url, [6, 7], 'next')) as Response;
    expect(next.status).toBe(202);
    await waitDone(second.url, ((await next.json()) as { id: string }).id);
  } finally {
    await stop(second);
  }
}

/** Ledger, store, weights and the service's tables agree: each vector applied exactly once. */
async function checkConsistent(
  store: ApproximatorStore,
  db: Db,
  applied: number[][] = [[5], [6, 7]],
): Promise<void> {
  // Each request's samples forgotten by exactly one ledger entry (in the order the service took
  // them), and the weights the original plus those vectors, applied in ledger order.
  const ledger = await store.deletions();
  const sorted = (lists: readonly (readonly number[])[]) => lists.map((l) => l.join(',')).sort();
  expect(sorted(ledger.map((e) => e.ids))).toEqual(sorted(applied));
  const head = (await store.headWeights())!;
  const expected = await expectedWeights(ledger.map((e) => e.ids));
  for (let j = 0; j < head.length; j++) expect(head[j]).toBeCloseTo(expected[j]!, 5);
  const forgotten = applied.flat();
  for (const id of forgotten) expect(await store.has(id)).toBe(false);
  expect((await store.liveIds()).length).toBe(120 - forgotten.length);
  // Every ledger entry carries the privacy its release spent.
  expect(ledger.every((e) => e.release !== undefined)).toBe(true);

  const requests = await db.query<{ state: string; sample_ids: number[]; application: number }>(
    `SELECT state, sample_ids, application FROM ${S}.requests ORDER BY seq`,
  );
  expect(requests.every((r) => r.state === 'done')).toBe(true);
  expect(sorted(requests.map((r) => r.sample_ids))).toEqual(sorted(applied));
  const apps = await db.query<{ id: number; state: string; sample_ids: number[] }>(
    `SELECT id, state, sample_ids FROM ${S}.applications ORDER BY id`,
  );
  expect(apps.map((a) => a.state)).toEqual(applied.map(() => 'committed'));
  expect(apps.map((a) => `application-${a.id}`)).toEqual(ledger.map((e) => e.requestId));
  expect(apps.map((a) => a.sample_ids)).toEqual(ledger.map((e) => e.ids));
  // Each request applied by the application whose entry forgot its samples.
  const appOf = new Map(apps.map((a) => [a.id, a.sample_ids.join(',')]));
  for (const r of requests) expect(appOf.get(r.application)).toBe(r.sample_ids.join(','));
}

describe('exactly once across SIGKILL (PGlite)', () => {
  // One data directory through every stage in turn (PGlite starts take seconds): each child is
  // started with the next stage's fault and must die there, with the request it was sent or with
  // one left over from the crash before (the applier resumes at start). Then a clean start, the
  // client retrying every request with its key, and one more request.
  it('killed at every stage in turn, then restarted', async () => {
    const { dir, remove } = await freshDataDir();
    try {
      const where = ['--data-dir', dir];
      const keys: [number[], string][] = [];
      for (const [i, fault] of FAULT_STAGES.entries()) {
        // A child can die at its stage while starting (applying a request left from before).
        const child = await startChild(where, fault).catch((error: Error) => {
          expect(error.message).toMatch(/exited \(SIGKILL\) before listening/);
          return undefined;
        });
        if (child !== undefined) {
          keys.push([[10 + i], `crash-${i}`]);
          await submit(child.url, [10 + i], `crash-${i}`);
          expect(await child.exited).toBe('SIGKILL');
        }
      }
      expect(keys.length).toBeGreaterThanOrEqual(2);
      const last = await startChild(where);
      try {
        for (const [ids, key] of keys) {
          const retry = (await submit(last.url, ids, key)) as Response;
          expect([200, 202]).toContain(retry.status);
          await waitDone(last.url, ((await retry.json()) as { id: string }).id);
        }
        const next = (await submit(last.url, [6, 7], 'next')) as Response;
        await waitDone(last.url, ((await next.json()) as { id: string }).id);
      } finally {
        await stop(last);
      }
      const m = await blobsModel();
      const store = await openPostgresStore(
        { dataDir: join(dir, 'store') },
        storeIdentity(m.model, m.trajectory),
      );
      const db = await openPglite(join(dir, 'service'));
      try {
        const applied = keys.map(([ids]) => ids);
        await checkConsistent(store, db, [...applied, [6, 7]]);
      } finally {
        await store.close();
        await db.close();
      }
    } finally {
      await remove();
    }
  });
});

describe.skipIf(!serverPresent)('exactly once across SIGKILL (Postgres server)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.stop());

  for (const fault of [
    'after-intent',
    'after-store-commit',
    'after-application-committed',
  ] as const) {
    it(`killed ${fault}`, async () => {
      const database = `crash_${fault.replace(/-/g, '_')}`;
      const admin = await server.client();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const url = server.url(database);
      await crashAndRecover(['--database-url', url], fault);
      const m = await blobsModel();
      const pool = new pg.Pool({ connectionString: url });
      const store = await openPostgresStore({ pool }, storeIdentity(m.model, m.trajectory), {
        schema: 'lethe_store',
      });
      const client = await pool.connect();
      const db: Db = {
        kind: 'pg',
        where: url,
        query: async (sql, params) => (await client.query(sql, params as unknown[])).rows,
        transaction: () => Promise.reject(new Error('read only')),
        close: async () => client.release(),
      };
      try {
        await checkConsistent(store, db);
      } finally {
        await store.close();
        await db.close();
        await pool.end();
      }
    });
  }
});
