import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  describeStoreConformance,
  TEST_IDENTITY as identity,
  snapshotStore,
  storeRejection,
  tempDir,
  testRows,
} from '../src/conformance.js';
import { sha256Hex } from '../src/file-store/format.js';
import { openFileStore, type StoreIdentity } from '../src/index.js';
import { distModule, filesIn } from './helpers.js';

describeStoreConformance(
  'file',
  async (id) => {
    const { dir, remove } = await tempDir();
    const storeDir = join(dir, 'store');
    return {
      store: await openFileStore(storeDir, id, { create: true }),
      reopen: () => openFileStore(storeDir, id),
      persistedBytes: async () => [...(await filesIn(storeDir)).values()],
      dispose: remove,
    };
  },
  { describe, it, expect },
  { persistent: true },
);

// Again with segments of one or two rows, so that every call spans and rewrites several.
describeStoreConformance(
  'file, small segments',
  async (id) => {
    const { dir, remove } = await tempDir();
    const options = { maxSegmentBytes: 2 * id.d * 4 };
    return {
      store: await openFileStore(dir, id, { ...options, create: true }),
      reopen: () => openFileStore(dir, id, options),
      persistedBytes: async () => [...(await filesIn(dir)).values()],
      dispose: remove,
    };
  },
  { describe, it, expect },
  { persistent: true },
);

/** Runs `body` with a store directory and a store created in it; cleans both up. */
async function withStore(
  body: (dir: string, store: Awaited<ReturnType<typeof openFileStore>>) => Promise<void>,
  id: StoreIdentity = identity,
) {
  const { dir, remove } = await tempDir();
  const store = await openFileStore(dir, id, { create: true });
  try {
    await body(dir, store);
  } finally {
    await store.close();
    await remove();
  }
}

describe('openFileStore', () => {
  it('refuses a missing store unless asked to create it, saying how', async () => {
    const { dir, remove } = await tempDir();
    try {
      const missingDir = await storeRejection(openFileStore(join(dir, 'nope'), identity));
      expect(missingDir.code).toBe('not-found');
      expect(missingDir.message).toMatch(/does not exist.*\{ create: true \}/);
      const emptyDir = await storeRejection(openFileStore(dir, identity));
      expect(emptyDir.message).toMatch(/manifest\.json is missing.*\{ create: true \}/);
    } finally {
      await remove();
    }
  });

  it("turns the file system's errors into StoreErrors naming the path and the fix", async () => {
    const { dir, remove } = await tempDir();
    try {
      const file = join(dir, 'notes.txt');
      await writeFile(file, 'mine');
      for (const create of [false, true]) {
        const error = await storeRejection(
          openFileStore(join(file, 'store'), identity, { create }),
        );
        expect(error.code).toBe('io');
        expect(error.message).toMatch(/^openFileStore: approximator store .*notes\.txt\/store: /);
        expect(error.message).toMatch(/ENOTDIR.*a part of the path is a file.*check the path/);
        expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOTDIR');
      }
    } finally {
      await remove();
    }
  });

  it('refuses to create a store in a directory holding other files', async () => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, 'notes.txt'), 'mine');
      const error = await storeRejection(openFileStore(dir, identity, { create: true }));
      expect(error.message).toMatch(/not empty.*notes\.txt.*empty or new directory/);
      expect([...(await filesIn(dir)).keys()]).toEqual(['notes.txt']);
    } finally {
      await remove();
    }
  });

  it('refuses a store of another trajectory or size, naming fields, values and fix', async () => {
    await withStore(async (dir, store) => {
      await store.writeRows([1], testRows([1], identity.d));
      await store.close();
      const error = await storeRejection(
        openFileStore(dir, { ...identity, trajectoryDigest: 'sha256:other', d: 7 }),
      );
      expect(error.code).toBe('manifest-mismatch');
      expect(error.message).toMatch(
        /trajectoryDigest: store has "sha256:trajectory", expected "sha256:other"/,
      );
      expect(error.message).toMatch(/d: store has 6, expected 7/);
      expect(error.message).toMatch(/recompute the approximators/);
      // The failed open released its lock: the right identity still opens.
      const reopened = await openFileStore(dir, identity);
      expect(reopened.manifest.rowCount).toBe(1);
      await reopened.close();
    });
  });

  it('locks the directory: a second open fails until the first is closed', async () => {
    await withStore(async (dir, store) => {
      const error = await storeRejection(openFileStore(dir, identity));
      expect(error.code).toBe('locked');
      expect(error.message).toMatch(/already open in this process.*store\.lock/);
      await store.close();
      const again = await openFileStore(dir, identity);
      await again.close();
    });
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    await withStore(async (dir, store) => {
      await store.writeRows([3], testRows([3], identity.d));
      await store.close();
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
      const { hostname } = await import('node:os');
      await writeFile(
        join(dir, 'store.lock'),
        JSON.stringify({ pid: Number(dead.stdout), host: hostname() }),
      );
      const reopened = await openFileStore(dir, identity);
      expect(Array.from(await reopened.liveIds())).toEqual([3]);
      await reopened.close();
    });
  });
});

describe('file store layout', () => {
  it('keeps a checksummed manifest and segments with a header, ascending ids and rows', async () => {
    await withStore(async (dir, store) => {
      await store.writeRows([7, 2, 5], testRows([7, 2, 5], identity.d));
      const files = await filesIn(dir);
      const manifest = JSON.parse(new TextDecoder().decode(files.get('manifest.json')));
      expect(manifest).toMatchObject({
        format: 'lethe-approximator-store',
        formatVersion: 2,
        ...identity,
        rowCount: 3,
        generation: 1,
        erasedIds: [],
        ledger: [],
      });
      const { manifestSha256, ...body } = manifest;
      expect(manifestSha256).toBe(sha256Hex(JSON.stringify(body)));
      expect(manifest.segments).toHaveLength(1);
      const [segment] = manifest.segments;
      const bytes = files.get(segment.file)!;
      expect(segment).toEqual({
        file: 'seg-00000001-0.bin',
        rows: 3,
        bytes: bytes.length,
        sha256: sha256Hex(bytes),
      });
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('LETHESEG');
      expect([1, 1, identity.d, 3].map((_, k) => view.getUint32(8 + 4 * k, true))).toEqual([
        1,
        1,
        identity.d,
        3,
      ]);
      expect([0, 1, 2].map((r) => view.getInt32(24 + 4 * r, true))).toEqual([2, 5, 7]);
      const rows = new Float32Array(bytes.slice(36).buffer);
      expect(rows).toEqual(testRows([2, 5, 7], identity.d));
      expect(bytes.length).toBe(24 + 3 * 4 + 3 * identity.d * 4);
    });
  });

  it('opens a version 1 store (no ledger) and writes version 2 at its first deletion', async () => {
    await withStore(async (dir, store) => {
      await store.writeRows([1, 2], testRows([1, 2], identity.d));
      await store.close();
      const path = join(dir, 'manifest.json');
      const { manifestSha256: _, ledger: __, ...v2 } = JSON.parse(await readFile(path, 'utf8'));
      const v1 = { ...v2, formatVersion: 1 };
      await writeFile(
        path,
        JSON.stringify({ ...v1, manifestSha256: sha256Hex(JSON.stringify(v1)) }),
      );
      const old = await openFileStore(dir, identity);
      expect(await old.deletions()).toEqual([]);
      const weights = new Float32Array(identity.d).fill(0.25);
      await old.commitDeletion({
        request: 0,
        requestId: 'r0',
        ids: [2],
        mode: 'online',
        weights,
        weightsBeforeSha256: sha256Hex(new Uint8Array(4 * identity.d)),
        erase: [2],
      });
      await old.close();
      const manifest = JSON.parse(await readFile(path, 'utf8'));
      expect(manifest.formatVersion).toBe(2);
      expect(manifest.ledger.map((e: { requestId: string }) => e.requestId)).toEqual(['r0']);
      expect(manifest.head.file).toMatch(/^head-\d{8}\.bin$/);
      const reopened = await openFileStore(dir, identity);
      expect(await reopened.headWeights()).toEqual(weights);
      await reopened.close();
    });
  });

  it('stores float16 rows at two bytes per value', async () => {
    await withStore(
      async (dir, store) => {
        await store.writeRows([0, 1], new Float32Array(2 * identity.d).fill(1.5));
        const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
        expect(manifest.segments[0].bytes).toBe(24 + 2 * 4 + 2 * identity.d * 2);
      },
      { ...identity, dtype: 'float16' },
    );
  });

  it('keeps every id in exactly one segment: overwrites and erases rewrite the old segment', async () => {
    await withStore(async (dir, store) => {
      await store.writeRows([0, 1, 2, 3], testRows([0, 1, 2, 3], identity.d));
      await store.writeRows([4, 5], testRows([4, 5], identity.d));
      await store.writeRows([1, 4, 5], testRows([10, 40, 50], identity.d));
      let names = [...(await filesIn(dir)).keys()].filter((f) => f.startsWith('seg-'));
      // seg 1 lost id 1 (rewritten as 3-0); seg 2 lost all its rows (deleted); 3-1 is the write.
      expect(names).toEqual(['seg-00000003-0.bin', 'seg-00000003-1.bin']);
      await store.erase([2]);
      names = [...(await filesIn(dir)).keys()].filter((f) => f.startsWith('seg-'));
      expect(names).toEqual(['seg-00000003-1.bin', 'seg-00000004-0.bin']);
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      expect(manifest.segments.map((s: { rows: number }) => s.rows)).toEqual([3, 2]);
      expect(manifest.erasedIds).toEqual([2]);
      expect(await store.readRows([1, 4, 0, 3])).toEqual(testRows([10, 40, 0, 3], identity.d));
    });
  });

  it('cuts large writes into bounded segments, so that an erase rewrites only one', async () => {
    const { dir, remove } = await tempDir();
    const store = await openFileStore(dir, identity, { create: true, maxSegmentBytes: 3 * 6 * 4 });
    try {
      const ids = Array.from({ length: 10 }, (_, i) => 9 - i);
      await store.writeRows(ids, testRows(ids, identity.d));
      const before = await filesIn(dir);
      const segments = [...before.keys()].filter((f) => f.startsWith('seg-'));
      expect(segments).toEqual([0, 1, 2, 3].map((k) => `seg-00000001-${k}.bin`));
      await store.erase([4]); // in the second segment (ids 3, 4, 5)
      const after = await filesIn(dir);
      expect([...after.keys()].filter((f) => f.startsWith('seg-'))).toEqual([
        'seg-00000001-0.bin',
        'seg-00000001-2.bin',
        'seg-00000001-3.bin',
        'seg-00000002-0.bin',
      ]);
      for (const k of [0, 2, 3]) {
        const name = `seg-00000001-${k}.bin`;
        expect(after.get(name)).toEqual(before.get(name));
      }
      const rest = ids.filter((id) => id !== 4);
      expect(await store.readRows(rest)).toEqual(testRows(rest, identity.d));
      await expect(openFileStore(dir, identity, { maxSegmentBytes: 0 })).rejects.toThrow(
        /maxSegmentBytes must be a positive integer/,
      );
    } finally {
      await store.close();
      await remove();
    }
  });

  it('reports a segment deleted while the store is open as damage, naming the file', async () => {
    await withStore(async (dir, store) => {
      await store.writeRows([1, 2], testRows([1, 2], identity.d));
      await store.writeRows([3], testRows([3], identity.d));
      await rm(join(dir, 'seg-00000001-0.bin'));
      for (const call of [store.readRows([2]), store.readBlock(0, 3), store.erase([1])]) {
        const error = await storeRejection(call);
        expect(error.code).toBe('corrupt-store');
        expect(error.message).toMatch(
          /seg-00000001-0\.bin: missing, though manifest\.json lists it/,
        );
        expect(error.message).toMatch(/restore the directory from a backup/);
      }
      expect(await store.readRows([3])).toEqual(testRows([3], identity.d));
    });
  });

  it('reads a block that spans several segments', async () => {
    await withStore(async (_dir, store) => {
      await store.writeRows([1, 3, 5], testRows([1, 3, 5], identity.d));
      await store.writeRows([2, 4, 6], testRows([2, 4, 6], identity.d));
      const block = await store.readBlock(1, 4);
      expect(Array.from(block.data)).toEqual(Array.from(testRows([2, 3, 4, 5], identity.d)));
    });
  });

  it('runs calls one at a time in call order, even when not awaited in between', async () => {
    await withStore(async (dir, store) => {
      const calls: Promise<unknown>[] = [];
      for (let id = 0; id < 8; id++) calls.push(store.writeRows([id], testRows([id], identity.d)));
      calls.push(store.erase([3, 5]));
      calls.push(store.writeRows([3], testRows([3], identity.d)).catch((e: Error) => e.message));
      const results = await Promise.all(calls);
      expect(results.at(-1)).toMatch(/id 3 was erased/);
      const before = await snapshotStore(store);
      expect(before.ids).toEqual([0, 1, 2, 4, 6, 7]);
      await store.close();
      const reopened = await openFileStore(dir, identity);
      expect(await snapshotStore(reopened)).toEqual(before);
      await reopened.close();
    });
  });
});

describe('file store lock, raced', () => {
  // Each child waits for the lock (retrying 'locked'), logs "open <i>", writes row i, holds the
  // store a moment, logs "close <i>" and closes. Mutual exclusion means the log alternates.
  const child = `
    const { appendFileSync } = await import('node:fs');
    const { openFileStore } = await import(process.argv[1]);
    const [dir, log, i, identity] = [process.argv[2], process.argv[3], Number(process.argv[4]), JSON.parse(process.argv[5])];
    const started = Date.now();
    let store;
    for (;;) {
      try { store = await openFileStore(dir, identity); break; }
      catch (e) {
        if (e.code !== 'locked' || Date.now() - started > 30000) throw e;
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 5));
      }
    }
    appendFileSync(log, 'open ' + i + '\\n');
    const rows = new Float32Array(identity.d).fill(i + 0.25);
    await store.writeRows([100 + i], rows);
    await new Promise((r) => setTimeout(r, 15));
    appendFileSync(log, 'close ' + i + '\\n');
    await store.close();
  `;

  it('lets one opener at a time in after a killed process left its lock (and an empty one)', async () => {
    const { hostname } = await import('node:os');
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    for (let trial = 0; trial < 3; trial++) {
      await withStore(async (dir, store) => {
        await store.close();
        // What a SIGKILLed opener leaves: its lock file; and one whose writer died mid-write.
        await writeFile(
          join(dir, `store.lock.${dead}.dead`),
          JSON.stringify({ pid: dead, host: hostname() }),
        );
        await writeFile(join(dir, 'store.lock'), '');
        const logDir = await tempDir();
        const log = join(logDir.dir, 'events.log');
        const openers = 5;
        const runs = await Promise.all(
          Array.from(
            { length: openers },
            (_, i) =>
              new Promise<{ status: number | null; stderr: string }>((resolve) => {
                const p = spawn(
                  process.execPath,
                  [
                    '--input-type=module',
                    '-e',
                    child,
                    distModule('index.js'),
                    dir,
                    log,
                    String(i),
                    JSON.stringify(identity),
                  ],
                  { stdio: ['ignore', 'ignore', 'pipe'] },
                );
                let stderr = '';
                p.stderr.on('data', (b) => {
                  stderr += String(b);
                });
                p.on('close', (status) => resolve({ status, stderr }));
              }),
          ),
        );
        for (const r of runs) expect(r.status, r.stderr).toBe(0);
        const events = (await readFile(log, 'utf8')).trim().split('\n');
        expect(events).toHaveLength(2 * openers);
        for (let k = 0; k < events.length; k += 2) {
          const who = events[k]!.split(' ')[1];
          expect(events[k]).toBe(`open ${who}`);
          expect(events[k + 1]).toBe(`close ${who}`);
        }
        const reopened = await openFileStore(dir, identity);
        expect(Array.from(await reopened.liveIds())).toEqual([100, 101, 102, 103, 104]);
        await reopened.close();
        // The stale and empty locks are gone, and so is every opener's.
        expect((await readdir(dir)).filter((f) => f.startsWith('store.lock'))).toEqual([]);
        await logDir.remove();
      });
    }
  });
});
