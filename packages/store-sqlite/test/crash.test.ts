import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ApproximatorStore, StoreIdentity } from '@lethe/store';
import { TEST_IDENTITY as base, containsBytes } from '@lethe/store/conformance';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.js';
import type { CommitStep } from '../src/sqlite-store.js';
import { uniqueRows } from './fixtures/rows.mjs';
import { distModule, filesOf, tempDb } from './helpers.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url));
// 8000-byte rows: a write of 5000 of them (40 MB) outgrows SQLite's 16 MB page cache, so the
// open transaction spills pages into the write-ahead log before it commits.
const identity: StoreIdentity = { ...base, d: 2000 };
const d = identity.d;
const SEED_IDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

interface State {
  rowCount: number;
  ids: Int32Array;
  rows: Float32Array;
}

async function stateOf(store: ApproximatorStore): Promise<State> {
  const ids = await store.liveIds();
  return { rowCount: store.manifest.rowCount, ids, rows: await store.readRows(ids) };
}

/** Compares states without element-by-element assertions over 10 million values. */
function expectState(actual: State, expected: State) {
  expect(actual.rowCount).toBe(expected.rowCount);
  expect(actual.ids.length).toBe(expected.ids.length);
  expect(Buffer.from(actual.ids.buffer).equals(Buffer.from(expected.ids.buffer))).toBe(true);
  expect(Buffer.from(actual.rows.buffer).equals(Buffer.from(expected.rows.buffer))).toBe(true);
}

function stateFor(rowsById: Map<number, Float32Array>): State {
  const ids = Int32Array.from([...rowsById.keys()].sort((a, b) => a - b));
  const rows = new Float32Array(ids.length * d);
  ids.forEach((id, i) => rows.set(rowsById.get(id)!, i * d));
  return { rowCount: ids.length, ids, rows };
}

const seedRows = () => new Map(SEED_IDS.map((id) => [id, uniqueRows([id], d)]));

async function seedStore(path: string) {
  const store = await openSqliteStore(path, identity, { create: true });
  await store.writeRows(SEED_IDS, uniqueRows(SEED_IDS, d));
  await store.close();
}

/** Runs the child; with `killAfterLines`, the parent kills it once it has printed that many lines. */
function runChild(path: string, operation: object, step?: CommitStep, killAfterLines?: number) {
  const modulePath = distModule('open-sqlite-store.js');
  const args = [CHILD, modulePath, path, JSON.stringify(identity), JSON.stringify(operation)];
  if (step !== undefined) args.push(step);
  return new Promise<{ signal: NodeJS.Signals | null; stderr: string; lines: string[] }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      const lines: string[] = [];
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.stdout.on('data', (chunk: Buffer) => {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        if (killAfterLines !== undefined && lines.length >= killAfterLines) child.kill('SIGKILL');
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => resolve({ signal, stderr, lines }));
    },
  );
}

const WRITE = { op: 'writeRows', from: 5, count: 5000 }; // overwrites 5..9, adds 10..5004
const afterWrite = () => {
  const rows = seedRows();
  for (let id = WRITE.from; id < WRITE.from + WRITE.count; id++) rows.set(id, uniqueRows([id], d));
  return stateFor(rows);
};
const ERASE = { op: 'erase', ids: [7, 2] };
const afterErase = () => {
  const rows = seedRows();
  for (const id of ERASE.ids) rows.delete(id);
  return stateFor(rows);
};

/** Three 16-byte runs of each erased row: a search for them finds any copy at rest. */
function erasedWindows(): Uint8Array[] {
  return ERASE.ids.flatMap((id) => {
    const bytes = new Uint8Array(uniqueRows([id], d).buffer);
    return [0, 4000, 7984].map((at) => bytes.slice(at, at + 16));
  });
}
const anyErasedBytes = async (path: string) => {
  const files = [...(await filesOf(path)).values()];
  return erasedWindows().some((w) => containsBytes(files, w));
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

const cases: { name: string; operation: object; steps: CommitStep[]; after: () => State }[] = [
  {
    name: 'writeRows of 5000 rows (40 MB, 5 of them overwrites)',
    operation: WRITE,
    steps: ['rows-partial', 'rows-written', 'committed'],
    after: afterWrite,
  },
  {
    name: 'erase',
    operation: ERASE,
    steps: ['rows-written', 'committed', 'checkpointed'],
    after: afterErase,
  },
  {
    name: 'commitDeletion (erase, ledger entry, head weights)',
    operation: DELETION,
    steps: ['rows-written', 'committed', 'checkpointed'],
    after: afterErase,
  },
];

describe('sqlite store: a process killed mid-commit leaves a readable store', () => {
  for (const { name, operation, steps, after } of cases) {
    for (const step of steps) {
      const committed = step === 'committed' || step === 'checkpointed';
      it(`${name}, killed at ${step}: reopens in the ${committed ? 'new' : 'previous'} state`, async () => {
        const { path, remove } = await tempDb();
        try {
          await seedStore(path);
          const result = await runChild(path, operation, step);
          expect(result.stderr).toBe('');
          expect(result.signal).toBe('SIGKILL');
          const wal = await stat(`${path}-wal`).catch(() => undefined);
          if (step === 'rows-partial') {
            // Half of the uncommitted write was already in the log on disk when the process died.
            expect(wal?.size ?? 0).toBeGreaterThan(4 * 2 ** 20);
          }
          const erases = operation === ERASE || operation === DELETION;
          if (erases) {
            // Until a checkpoint, the erased rows' old pages are still in the files.
            expect(await anyErasedBytes(path)).toBe(step !== 'checkpointed');
          }

          const store = await openSqliteStore(path, identity);
          try {
            const previous = stateFor(seedRows());
            expectState(await stateOf(store), committed ? after() : previous);
            if (operation === DELETION) {
              // The ledger entry and the head weights land with the erasure, or none of them.
              const ledger = await store.deletions();
              expect(ledger.map((e) => e.requestId)).toEqual(committed ? ['request-7-2'] : []);
              const head = await store.headWeights();
              expect(head).toEqual(committed ? Float32Array.from(HEAD) : undefined);
            }
            if (erases) {
              // Opening checkpointed the log: the erased rows' bytes are gone once it committed.
              expect(await anyErasedBytes(path)).toBe(!committed);
              if (committed) await expect(store.readRows([2])).rejects.toThrow(/id 2 was erased/);
            }
            // And the store takes writes again.
            await store.writeRows([6000], uniqueRows([6000], d));
            expect(await store.readRows([6000])).toEqual(uniqueRows([6000], d));
          } finally {
            await store.close();
          }
        } finally {
          await remove();
        }
      });
    }
  }

  it('a process killed from outside during a stream of writes keeps exactly the committed ones', async () => {
    const { path, remove } = await tempDb();
    try {
      await (await openSqliteStore(path, identity, { create: true })).close();
      const block = 400;
      // The parent kills the child as soon as it has reported three commits: by then it is in
      // the middle of its next write (or between two).
      const result = await runChild(path, { op: 'writeLoop', block }, undefined, 3);
      expect(result.stderr).toBe('');
      expect(result.signal).toBe('SIGKILL');
      const reported = result.lines.length;
      expect(reported).toBeGreaterThanOrEqual(3);
      const store = await openSqliteStore(path, identity);
      try {
        const state = await stateOf(store);
        // Every write is all or nothing: the rows are the first m whole blocks, m >= reported.
        expect(state.ids.length % block).toBe(0);
        expect(state.ids.length / block).toBeGreaterThanOrEqual(reported);
        const ids = Array.from({ length: state.ids.length }, (_, i) => i);
        expectState(state, {
          rowCount: ids.length,
          ids: Int32Array.from(ids),
          rows: uniqueRows(ids, d),
        });
      } finally {
        await store.close();
      }
    } finally {
      await remove();
    }
  });
});
