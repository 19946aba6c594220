import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import { recipeOf, useBackend } from '@lethe/autodiff';
import { isLetheError } from '@lethe/core';
import { type ApproximatorStore, createMemoryStore, openFileStore, StoreError } from '@lethe/store';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  finalWeights,
  recollect,
  storeIdentity,
  type Trajectory,
  train,
  Unlearner,
} from '../src/index.js';
import { blobs, logistic } from './fixtures.js';

const model = logistic(4, 3);
const data = blobs(40, 4, 3, 11);
const config = { epochs: 2, batchSize: 8, lr: 0.2, lrDecay: 1, l2: 0.01, clip: 5, seed: 5 };
const CHILD = fileURLToPath(new URL('./fixtures/ledger-child.mjs', import.meta.url));

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-ledger-test-'));
  dirs.push(dir);
  return dir;
}

/** A run whose every vector is in a file store at `dir`; the rows, read before any deletion. */
async function storedRun(dir: string) {
  const { trajectory } = train(model, data, config);
  const store = await openFileStore(dir, storeIdentity(model, trajectory), { create: true });
  await recollect({ model, data, trajectory, store, workers: 1 });
  const ids = Array.from({ length: data.n }, (_, i) => i);
  const rows = await store.readRows(ids);
  await store.close();
  return { trajectory, rows };
}

/** w_T plus each id's vector in turn, in float32 as the engine adds them (one per request). */
function expectedWeights(trajectory: Trajectory, rows: Float32Array, ids: readonly number[]) {
  const w = Float32Array.from(finalWeights(trajectory));
  for (const id of ids) {
    for (let j = 0; j < model.d; j++) w[j]! += rows[id * model.d + j]!;
  }
  return w;
}

/** `inner` with some methods replaced (the store's private fields stay on `inner`). */
function wrapStore(
  inner: ApproximatorStore,
  overrides: Partial<Pick<ApproximatorStore, 'commitDeletion' | 'deletions'>>,
): ApproximatorStore {
  return {
    get manifest() {
      return inner.manifest;
    },
    writeRows: (ids, rows) => inner.writeRows(ids, rows),
    readRows: (ids) => inner.readRows(ids),
    readBlock: (start, count) => inner.readBlock(start, count),
    erase: (ids) => inner.erase(ids),
    commitDeletion: (commit) => inner.commitDeletion(commit),
    deletions: () => inner.deletions(),
    headWeights: () => inner.headWeights(),
    has: (id) => inner.has(id),
    liveIds: () => inner.liveIds(),
    close: () => inner.close(),
    ...overrides,
  };
}

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function runChild(args: string[], killAfterLines: number) {
  return new Promise<{ lines: string[]; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, [CHILD, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const lines: string[] = [];
      let stderr = '';
      let pending = '';
      child.stdout.on('data', (chunk) => {
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        lines.push(...parts);
        if (lines.length >= killAfterLines) child.kill('SIGKILL');
      });
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('exit', (_code, signal) => resolve({ lines, signal, stderr }));
    },
  );
}

describe('the deletion ledger', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  it('a process killed while forgetting loses no acknowledged deletion and applies none twice', async () => {
    const dir = await tempDir();
    const { trajectory, rows } = await storedRun(dir);
    const order = [5, 9, 2, 17, 30, 11, 0, 39, 23, 8, 14, 27];
    const state = join(await tempDir(), 'state.bin');
    await writeFile(state, serialize({ recipe: recipeOf(model), trajectory, order }));
    const require = createRequire(import.meta.url);
    const urls = [
      new URL('../dist/index.js', import.meta.url).href,
      pathToFileURL(require.resolve('@lethe/autodiff')).href,
      pathToFileURL(require.resolve('@lethe/store')).href,
    ];
    const result = await runChild([...urls, dir, state], 3);
    expect(result.stderr).toBe('');
    expect(result.signal).toBe('SIGKILL');
    const acknowledged = result.lines.map((l) => JSON.parse(l).id as number);
    expect(acknowledged).toEqual(order.slice(0, acknowledged.length));

    const store = await openFileStore(dir, storeIdentity(model, trajectory));
    try {
      const ledger = await store.deletions();
      const forgotten = ledger.map((e) => e.ids[0]!);
      // Every acknowledged request is in the ledger; at most the one in flight is added.
      expect(forgotten).toEqual(order.slice(0, forgotten.length));
      expect(forgotten.length).toBeGreaterThanOrEqual(acknowledged.length);
      expect(forgotten.length).toBeLessThanOrEqual(acknowledged.length + 1);
      const resumed = await Unlearner.open(model, trajectory, { kind: 'store', store });
      // Exactly the ledger's deletions, each once: w_T plus their vectors, bit for bit.
      expect(
        bytes(resumed.weights).equals(bytes(expectedWeights(trajectory, rows, forgotten))),
      ).toBe(true);
      expect(resumed.forgotten.sort((a, b) => a - b)).toEqual([...forgotten].sort((a, b) => a - b));
      for (const id of order) expect(await store.has(id)).toBe(!forgotten.includes(id));
      const live = Array.from(await store.liveIds());
      const liveRows = await store.readRows(live);
      live.forEach((id, i) => {
        const stored = liveRows.subarray(i * model.d, (i + 1) * model.d);
        const original = rows.subarray(id * model.d, (id + 1) * model.d);
        expect(bytes(stored).equals(bytes(original))).toBe(true);
      });
      const again = await resumed.forget(forgotten[0]!).catch((e: unknown) => e);
      expect(isLetheError(again, 'already-forgotten')).toBe(true);
      const next = order[forgotten.length]!;
      await resumed.forget(next);
      expect(
        bytes(resumed.weights).equals(
          bytes(expectedWeights(trajectory, rows, [...forgotten, next])),
        ),
      ).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('a store that commits and then fails to clean up leaves the weights updated, and says so', async () => {
    const { trajectory } = train(model, data, config);
    const inner = createMemoryStore(storeIdentity(model, trajectory));
    await recollect({ model, data, trajectory, store: inner, ids: [1, 2, 3], workers: 1 });
    const vector = await inner.readRows([2]);
    let failAfterCommit = true;
    const store = wrapStore(inner, {
      commitDeletion: async (commit) => {
        const entry = await inner.commitDeletion(commit);
        if (failAfterCommit) {
          throw new StoreError('io', 'commitDeletion: committed, but scrubbing failed (test)');
        }
        return entry;
      },
    });
    const u = await Unlearner.open(model, trajectory, { kind: 'store', store });
    const before = u.weights;
    await expect(u.forget(2)).rejects.toThrow(/scrubbing failed/);
    // The ledger holds the deletion, so the unlearner's weights and state follow it.
    expect(u.isForgotten(2)).toBe(true);
    const want = Float32Array.from(before, (v, j) => v + vector[j]!);
    expect(bytes(u.weights).equals(bytes(want))).toBe(true);
    expect(bytes((await inner.headWeights())!).equals(bytes(want))).toBe(true);
    failAfterCommit = false;
    await expect(u.forget(2)).rejects.toThrow(/already forgotten/);
    await u.forget(3);
    expect((await u.deletions()).map((e) => e.ids)).toEqual([[2], [3]]);
  });

  it('a store that fails before committing changes nothing, and the request can be retried', async () => {
    const { trajectory } = train(model, data, config);
    const inner = createMemoryStore(storeIdentity(model, trajectory));
    await recollect({ model, data, trajectory, store: inner, ids: [1, 2], workers: 1 });
    let fail = true;
    const store = wrapStore(inner, {
      commitDeletion: async (commit) => {
        if (fail) throw new StoreError('io', 'commitDeletion: the disk is full (test)');
        return inner.commitDeletion(commit);
      },
    });
    const u = await Unlearner.open(model, trajectory, { kind: 'store', store });
    const before = u.weights;
    await expect(u.forget(1)).rejects.toThrow(/disk is full/);
    expect(u.isForgotten(1)).toBe(false);
    expect(bytes(u.weights).equals(bytes(before))).toBe(true);
    expect(await inner.has(1)).toBe(true);
    fail = false;
    await expect(u.forget(1)).resolves.toMatchObject({ request: 0, ids: [1] });
  });

  it('a commit whose outcome cannot be read back stops the unlearner until it is reopened', async () => {
    const { trajectory } = train(model, data, config);
    const inner = createMemoryStore(storeIdentity(model, trajectory));
    await recollect({ model, data, trajectory, store: inner, ids: [1, 2], workers: 1 });
    const broken = new StoreError('io', 'the store is unreachable (test)');
    let reads = 0;
    const store = wrapStore(inner, {
      commitDeletion: () => Promise.reject(broken),
      // Readable when the unlearner opens; unreachable from then on.
      deletions: () => (reads++ === 0 ? inner.deletions() : Promise.reject(broken)),
    });
    const u = await Unlearner.open(model, trajectory, { kind: 'store', store });
    await expect(u.forget(1)).rejects.toThrow(/unreachable/);
    await expect(u.forget(2)).rejects.toThrow(/open a new Unlearner on the store/);
    const reopened = await Unlearner.open(model, trajectory, { kind: 'store', store: inner });
    expect(reopened.forgotten).toEqual([]);
  });

  it('a lazy source with a ledger: a restart on saved weights does not forget a sample twice', async () => {
    const { trajectory } = train(model, data, config);
    const dir = await tempDir();
    const identity = storeIdentity(model, trajectory);
    const ledger = await openFileStore(dir, identity, { create: true });
    const first = await Unlearner.open(model, trajectory, { kind: 'lazy', data, ledger });
    await first.forget(4, { requestId: 'user-4' });
    const saved = first.weights;
    await ledger.close();
    // Restart: the ledger knows sample 4 is gone, so the saved weights are taken as they are.
    const reopenedLedger = await openFileStore(dir, identity);
    const source = { kind: 'lazy' as const, data, ledger: reopenedLedger };
    const second = await Unlearner.open(model, trajectory, source, saved);
    await expect(second.forget(4)).rejects.toThrow(/already forgotten/);
    expect(bytes(second.weights).equals(bytes(saved))).toBe(true);
    // Weights that are not the ledger's head are refused: they miss or repeat a deletion.
    await expect(
      Unlearner.open(model, trajectory, source, finalWeights(trajectory)),
    ).rejects.toThrow(/holds 1 deletions, and the weights passed are not the weights after/);
    await expect(second.forget(5, { requestId: 'user-4' })).rejects.toThrow(
      /request "user-4" was already committed/,
    );
    await reopenedLedger.close();
  });

  it('prepareForget hands out the new weights first; commit records the release with the deletion', async () => {
    const { trajectory } = train(model, data, config);
    const store = createMemoryStore(storeIdentity(model, trajectory));
    await recollect({ model, data, trajectory, store, ids: [6, 7], workers: 1 });
    const u = await Unlearner.open(model, trajectory, { kind: 'store', store });
    const pending = await u.prepareForget([6]);
    expect(u.isForgotten(6)).toBe(false);
    expect(await store.has(6)).toBe(true);
    const release = {
      mode: 'online' as const,
      requestIds: ['req-6'],
      sigma: 0.3,
      sensitivity: 0.05,
      epsilon: 1,
      delta: 1e-5,
    };
    const stale = await u.prepareForget([7]);
    const record = await pending.commit({ requestId: 'req-6', release });
    expect(record.entry?.release).toEqual(release);
    expect(bytes(u.weights).equals(bytes(pending.weights))).toBe(true);
    await expect(pending.commit()).rejects.toThrow(/already committed/);
    await expect(stale.commit()).rejects.toThrow(/prepare it again/);
    expect((await store.deletions()).map((e) => e.requestId)).toEqual(['req-6']);
  });
});
