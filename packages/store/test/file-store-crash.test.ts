import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  containsBytes,
  float32Bytes,
  TEST_IDENTITY as identity,
  snapshotStore,
  tempDir,
  testRows,
} from '../src/conformance.js';
import type { CommitStep } from '../src/file-store/durable-fs.js';
import { sha256Hex } from '../src/file-store/format.js';
import { openFileStore } from '../src/index.js';
import { distModule, filesIn } from './helpers.js';

const d = identity.d;
const CHILD = fileURLToPath(new URL('./fixtures/crash-child.mjs', import.meta.url));

/** Commit steps in order; from 'manifest-renamed' on, the change is committed. */
const STEPS: CommitStep[] = [
  'segment-tmp-partial',
  'segment-tmp-written',
  'segments-renamed',
  'manifest-tmp-written',
  'manifest-renamed',
  'old-segments-removed',
];
const COMMITTED_FROM = STEPS.indexOf('manifest-renamed');

/** A closed store with ids 0..3 in one segment and 4..5 in another. */
async function seedStore(dir: string) {
  const store = await openFileStore(dir, identity, { create: true });
  await store.writeRows([0, 1, 2, 3], testRows([0, 1, 2, 3], d));
  await store.writeRows([4, 5], testRows([4, 5], d));
  const state = await snapshotStore(store);
  await store.close();
  return state;
}

function runChild(dir: string, operation: object, step: CommitStep) {
  const modulePath = distModule('file-store/open-file-store.js');
  const args = [CHILD, modulePath, dir, JSON.stringify(identity), JSON.stringify(operation), step];
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
    },
  );
}

/** Store files other than the lock, which the reopened store holds. */
async function storeFiles(dir: string) {
  const files = await filesIn(dir);
  for (const name of [...files.keys()]) if (name.startsWith('store.lock')) files.delete(name);
  return files;
}

/** The deletion the commitDeletion case commits: sample 2, from weights 0 to HEAD. */
const HEAD = Array.from({ length: d }, (_, j) => 0.5 + j);
const ERASE_2 = (before: Awaited<ReturnType<typeof seedStore>>) => {
  const keep = before.ids.map((id, i) => [id, i] as const).filter(([id]) => id !== 2);
  return {
    manifest: { ...before.manifest, rowCount: keep.length },
    ids: keep.map(([id]) => id),
    rows: keep.flatMap(([, i]) => before.rows.slice(i * d, (i + 1) * d)),
  };
};

const operations = [
  {
    name: 'writeRows (an overwrite and a new id)',
    operation: { op: 'writeRows', ids: [3, 9], rows: Array.from(testRows([30, 90], d)) },
    expectAfter: (before: Awaited<ReturnType<typeof seedStore>>) => {
      const rows = new Map(before.ids.map((id, i) => [id, before.rows.slice(i * d, (i + 1) * d)]));
      rows.set(3, Array.from(testRows([30], d)));
      rows.set(9, Array.from(testRows([90], d)));
      const ids = [...rows.keys()].sort((a, b) => a - b);
      return {
        manifest: { ...before.manifest, rowCount: ids.length },
        ids,
        rows: ids.flatMap((id) => rows.get(id)!),
      };
    },
  },
  { name: 'erase', operation: { op: 'erase', ids: [2] }, expectAfter: ERASE_2 },
  {
    name: 'commitDeletion (erase, ledger entry, head weights)',
    operation: {
      op: 'commitDeletion',
      commit: {
        request: 0,
        requestId: 'request-2',
        ids: [2],
        mode: 'online',
        weights: HEAD,
        weightsBeforeSha256: sha256Hex(new Uint8Array(4 * d)),
        erase: [2],
      },
    },
    expectAfter: ERASE_2,
  },
];

describe('file store: a process killed mid-commit leaves a readable store', () => {
  for (const { name, operation, expectAfter } of operations) {
    for (const [index, step] of STEPS.entries()) {
      const committed = index >= COMMITTED_FROM;
      it(`${name}, killed at ${step}: reopens in the ${committed ? 'new' : 'previous'} state`, async () => {
        const { dir, remove } = await tempDir();
        try {
          const before = await seedStore(dir);
          const result = await runChild(dir, operation, step);
          expect(result.stderr).toBe('');
          expect(result.signal).toBe('SIGKILL');
          // The dead process left its lock, and before its last step temporary or stale files.
          const left = await filesIn(dir);
          expect([...left.keys()].some((f) => f.startsWith('store.lock.'))).toBe(true);
          const named = (text: string) => {
            const manifest = JSON.parse(text);
            const files = manifest.segments.map((s: { file: string }) => s.file) as string[];
            return manifest.head ? [...files, manifest.head.file as string] : files;
          };
          const onDisk = named(new TextDecoder().decode(left.get('manifest.json')));
          const leftovers = [...left.keys()].filter(
            (f) => f !== 'manifest.json' && !f.startsWith('store.lock') && !onDisk.includes(f),
          );
          expect(leftovers.length > 0).toBe(step !== 'old-segments-removed');

          const store = await openFileStore(dir, identity);
          try {
            const want = committed ? expectAfter(before) : before;
            expect(await snapshotStore(store)).toEqual(want);
            // Opening removed every file the manifest does not name.
            const manifest = await readFile(join(dir, 'manifest.json'), 'utf8');
            expect([...(await storeFiles(dir)).keys()]).toEqual(
              ['manifest.json', ...named(manifest)].sort(),
            );
            if (operation.op !== 'writeRows') {
              const erasedRow = float32Bytes(testRows([2], d));
              expect(containsBytes((await storeFiles(dir)).values(), erasedRow)).toBe(!committed);
            }
            if (operation.op === 'commitDeletion') {
              // The ledger entry and the head weights land with the erasure, or none of them.
              const ledger = await store.deletions();
              expect(ledger.map((e) => e.requestId)).toEqual(committed ? ['request-2'] : []);
              expect(await store.headWeights()).toEqual(
                committed ? Float32Array.from(HEAD) : undefined,
              );
            }
            // And the store takes writes again.
            await store.writeRows([20], testRows([20], d));
            expect(await store.readRows([20])).toEqual(testRows([20], d));
          } finally {
            await store.close();
          }
        } finally {
          await remove();
        }
      });
    }
  }
});

describe('file store: files left by an interrupted commit', () => {
  it('ignores and removes stray temporary files and orphaned segments, erased bytes included', async () => {
    const { dir, remove } = await tempDir();
    try {
      await seedStore(dir);
      const oldSegment = await readFile(join(dir, 'seg-00000001-0.bin')); // holds id 2's row
      const store = await openFileStore(dir, identity);
      await store.erase([2]);
      const before = await snapshotStore(store);
      await store.close();
      // What crashes at various points could leave: a complete segment the manifest no longer
      // names (here: the pre-erase copy), a truncated segment and a half-written manifest.
      await writeFile(join(dir, 'seg-00000001-0.bin'), oldSegment);
      await writeFile(join(dir, 'seg-00000009-0.bin.tmp'), oldSegment.subarray(0, 30));
      await writeFile(join(dir, 'manifest.json.tmp'), '{"format":"lethe-approx');
      const erasedRow = float32Bytes(testRows([2], d));
      expect(containsBytes((await filesIn(dir)).values(), erasedRow)).toBe(true);

      const reopened = await openFileStore(dir, identity);
      try {
        expect(await snapshotStore(reopened)).toEqual(before);
        expect([...(await storeFiles(dir)).keys()]).toEqual([
          'manifest.json',
          'seg-00000002-0.bin',
          'seg-00000003-0.bin',
        ]);
        expect(containsBytes((await filesIn(dir)).values(), erasedRow)).toBe(false);
      } finally {
        await reopened.close();
      }
    } finally {
      await remove();
    }
  });

  it('finishes creating a store whose creation was interrupted', async () => {
    const { dir, remove } = await tempDir();
    try {
      await writeFile(join(dir, 'manifest.json.tmp'), '{"form');
      const store = await openFileStore(dir, identity, { create: true });
      expect(store.manifest.rowCount).toBe(0);
      await store.close();
      expect([...(await filesIn(dir)).keys()]).toEqual(['manifest.json']);
    } finally {
      await remove();
    }
  });
});
