import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ApproximatorStore, StoreIdentity } from '@lethe/store';
import { TEST_IDENTITY as base, containsBytes } from '@lethe/store/conformance';
import { serverPresent, startServer, type TestServer } from '@lethe/vitest-config/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresTarget } from '../src/index.js';
import type { CommitStep } from '../src/postgres-store.js';
import { uniqueRows } from './fixtures/rows.mjs';
import { distModule, filesUnder, tempDataDir } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url));
// 800-byte rows: a write of 2000 of them goes in as four INSERTs of 500 rows, and the child dies
// after two of them when killed at 'rows-partial'.
const identity: StoreIdentity = { ...base, d: 200 };
const d = identity.d;
const SEED_IDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

interface State {
  ids: number[];
  rows: Float32Array;
  erased: number[];
  ledger: string[];
  head: Float32Array | undefined;
}

/** Everything the store holds: rows, which ids are erased (of the seed), ledger and head. */
async function stateOf(store: ApproximatorStore): Promise<State> {
  const ids = Array.from(await store.liveIds());
  expect(store.manifest.rowCount).toBe(ids.length);
  const erased: number[] = [];
  for (const id of SEED_IDS) {
    if (await store.has(id)) continue;
    const error = await store.readRows([id]).catch((e: Error) => e);
    expect(String(error)).toMatch(new RegExp(`id ${id} was erased`));
    erased.push(id);
  }
  return {
    ids,
    rows: await store.readRows(ids),
    erased,
    ledger: (await store.deletions()).map((e) => e.requestId),
    head: await store.headWeights(),
  };
}

function expectState(actual: State, expected: State) {
  expect(actual.ids).toEqual(expected.ids);
  expect(Buffer.from(actual.rows.buffer).equals(Buffer.from(expected.rows.buffer))).toBe(true);
  expect(actual.erased).toEqual(expected.erased);
  expect(actual.ledger).toEqual(expected.ledger);
  expect(actual.head).toEqual(expected.head);
}

function stateFor(
  rowsById: Map<number, Float32Array>,
  ledger: { erased: number[]; requests: string[]; head?: number[] } = { erased: [], requests: [] },
): State {
  const ids = [...rowsById.keys()].sort((a, b) => a - b);
  const rows = new Float32Array(ids.length * d);
  ids.forEach((id, i) => rows.set(rowsById.get(id)!, i * d));
  return {
    ids,
    rows,
    erased: ledger.erased,
    ledger: ledger.requests,
    head: ledger.head === undefined ? undefined : Float32Array.from(ledger.head),
  };
}

const seedRows = () => new Map(SEED_IDS.map((id) => [id, uniqueRows([id], d)]));

const WRITE = { op: 'writeRows', from: 5, count: 2000 }; // overwrites 5..9, adds 10..2004
const afterWrite = () => {
  const rows = seedRows();
  for (let id = WRITE.from; id < WRITE.from + WRITE.count; id++) rows.set(id, uniqueRows([id], d));
  return stateFor(rows);
};
const ERASE = { op: 'erase', ids: [7, 2] };
const afterErase = () => {
  const rows = seedRows();
  for (const id of ERASE.ids) rows.delete(id);
  return stateFor(rows, { erased: [2, 7], requests: [] });
};
/** Forgets ERASE's ids in one deletion commit, from weights 0 to HEAD. */
const HEAD = Array.from({ length: d }, (_, j) => 0.25 + j);
const DELETION = {
  op: 'commitDeletion',
  commit: {
    request: 0,
    requestId: 'request-7-2',
    ids: ERASE.ids,
    mode: 'batch',
    weights: HEAD,
    weightsBeforeSha256: createHash('sha256')
      .update(new Uint8Array(4 * d))
      .digest('hex'),
    erase: ERASE.ids,
  },
};
const afterDeletion = () => {
  const rows = seedRows();
  for (const id of ERASE.ids) rows.delete(id);
  return stateFor(rows, { erased: [2, 7], requests: ['request-7-2'], head: HEAD });
};

/** Three 16-byte runs of each erased row: a search for them finds any copy at rest. */
function erasedWindows(): Uint8Array[] {
  return ERASE.ids.flatMap((id) => {
    const bytes = new Uint8Array(uniqueRows([id], d).buffer);
    return [0, 400, 784].map((at) => bytes.slice(at, at + 16));
  });
}

const cases: { name: string; operation: object; steps: CommitStep[]; after: () => State }[] = [
  {
    name: 'writeRows of 2000 rows (5 of them overwrites)',
    operation: WRITE,
    steps: ['rows-partial', 'rows-written', 'committed'],
    after: afterWrite,
  },
  {
    name: 'erase',
    operation: ERASE,
    steps: ['rows-written', 'committed', 'scrubbed'],
    after: afterErase,
  },
  {
    name: 'commitDeletion (erase, ledger entry, head weights)',
    operation: DELETION,
    steps: ['rows-written', 'committed', 'scrubbed'],
    after: afterDeletion,
  },
];

/** Runs the child, which kills itself at `step`. */
function runChild(target: object, operation: object, step: CommitStep) {
  const modulePath = distModule('open-postgres-store.js');
  const args = [
    CHILD,
    modulePath,
    JSON.stringify(target),
    JSON.stringify(identity),
    JSON.stringify(operation),
    step,
  ];
  return new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => resolve({ signal, stderr }));
  });
}

interface Backend {
  /** A fresh place for a store: the child's target JSON, the parent's target, clean-up. */
  fresh(): Promise<{
    childTarget: object;
    target: () => Promise<PostgresTarget>;
    remove: () => Promise<void>;
    files?: () => Promise<Uint8Array[]>;
  }>;
}

function crashSuite(name: string, backend: () => Backend) {
  describe(`${name}: a process killed mid-commit leaves the previous or the new state exactly`, () => {
    for (const { name: opName, operation, steps, after } of cases) {
      for (const step of steps) {
        const committed = step === 'committed' || step === 'scrubbed';
        it(`${opName}, killed at ${step}: reopens in the ${committed ? 'new' : 'previous'} state`, async () => {
          const place = await backend().fresh();
          try {
            const seed = await openPostgresStore(await place.target(), identity, { create: true });
            await seed.writeRows(SEED_IDS, uniqueRows(SEED_IDS, d));
            await seed.close();
            const result = await runChild(place.childTarget, operation, step);
            expect(result.stderr).toBe('');
            expect(result.signal).toBe('SIGKILL');
            const erases = operation === ERASE || operation === DELETION;
            if (erases && place.files !== undefined) {
              // Until the scrub, the erased rows' bytes are still in the data directory (in the
              // WAL at least); after it, nowhere.
              const files = await place.files();
              const found = erasedWindows().filter((w) => containsBytes(files, w)).length;
              expect(found).toBe(step === 'scrubbed' ? 0 : erasedWindows().length);
            }
            const store = await openPostgresStore(await place.target(), identity);
            try {
              expectState(await stateOf(store), committed ? after() : stateFor(seedRows()));
              if (erases && committed && place.files !== undefined) {
                // Opening finished the interrupted scrub: the erased rows' bytes are gone.
                const files = await place.files();
                expect(erasedWindows().filter((w) => containsBytes(files, w))).toEqual([]);
              }
              // And the store takes writes again.
              await store.writeRows([6000], uniqueRows([6000], d));
              expect(await store.readRows([6000])).toEqual(uniqueRows([6000], d));
            } finally {
              await store.close();
            }
          } finally {
            await place.remove();
          }
        });
      }
    }
  });
}

crashSuite('postgres store on PGlite', () => ({
  async fresh() {
    const { dataDir, remove } = await tempDataDir();
    return {
      childTarget: { dataDir },
      target: async () => ({ dataDir }),
      remove,
      files: async () => [...(await filesUnder(dataDir)).values()],
    };
  },
}));

describe.skipIf(!serverPresent)('postgres server (apt package postgresql)', () => {
  let server: TestServer;
  let databases = 0;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.stop());
  crashSuite('postgres store on a server', () => ({
    async fresh() {
      const database = `crash_${++databases}`;
      const admin = await server.client();
      await admin.query(`CREATE DATABASE ${database}`);
      const clients: { end(): Promise<void> }[] = [];
      return {
        childTarget: { server: { host: server.host, port: server.port, database } },
        target: async () => {
          const client = await server.client(database);
          clients.push(client);
          return { client };
        },
        remove: async () => {
          await Promise.all(clients.map((c) => c.end()));
          await admin.query(`DROP DATABASE ${database} WITH (FORCE)`);
          await admin.end();
        },
      };
    },
  }));
});
