// The behaviour every ApproximatorStore adapter must have, as a test suite that adapter
// packages run with their own test runner. The runner's describe/it/expect are passed in, so
// @lethe/store does not depend on vitest at run time.

import { Rng, weightsSha256 } from '@lethe/core';
import { StoreError } from './errors.js';
import { FLOAT16_OVERFLOW, roundToFloat16, toFloat16Bits } from './float16.js';
import { snapshotStore, storeRejection } from './test-support.js';
import type { ApproximatorStore, DeletionCommit, StoreDType, StoreIdentity } from './types.js';

export interface ConformanceAssertion {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatch(expected: RegExp): void;
  toBeInstanceOf(expected: abstract new (...args: never[]) => unknown): void;
  toBeLessThanOrEqual(expected: number): void;
}

/** The subset of vitest's (or jest's) API the suite uses. */
export interface ConformanceTestApi {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => Promise<void>): unknown;
  expect(actual: unknown, message?: string): ConformanceAssertion;
}

export interface ConformanceHarness {
  /** A new, empty store with the identity the factory was given. */
  readonly store: ApproximatorStore;
  /** Opens the same storage again (the suite has closed the store first); needed if persistent. */
  readonly reopen?: () => Promise<ApproximatorStore>;
  /**
   * Every byte the adapter keeps at rest (files, database pages); needed if persistent. The suite
   * checks that an erased row's little-endian encoding no longer appears anywhere in it.
   */
  readonly persistedBytes?: () => Promise<Uint8Array[]>;
  /** Removes what the harness created (temporary directories, databases). */
  readonly dispose?: () => Promise<void>;
}

export type ConformanceFactory = (identity: StoreIdentity) => Promise<ConformanceHarness>;

export interface ConformanceOptions {
  /** The dtypes to run the suite for; both by default. */
  readonly dtypes?: readonly StoreDType[];
  /**
   * The adapter keeps its rows at rest: also check that they survive a reopen and that erased
   * rows leave no bytes behind. The harness must then provide `reopen` and `persistedBytes`.
   */
  readonly persistent?: boolean;
}

interface Context {
  store: ApproximatorStore;
  readonly harness: ConformanceHarness;
  readonly identity: StoreIdentity;
}

/**
 * Registers the conformance tests for one adapter, e.g.
 * `describeStoreConformance('sqlite', async (identity) => ({ store: ... }), { describe, it, expect })`.
 */
export function describeStoreConformance(
  name: string,
  factory: ConformanceFactory,
  api: ConformanceTestApi,
  options: ConformanceOptions = {},
): void {
  const { describe, it, expect } = api;
  for (const dtype of options.dtypes ?? ['float32', 'float16']) {
    const run = (d: number, body: (ctx: Context) => Promise<void>) => async () => {
      const identity: StoreIdentity = {
        modelDigest: 'model-digest-1',
        layoutDigest: 'layout-digest-1',
        d,
        dtype,
        trajectoryDigest: 'trajectory-digest-1',
      };
      const harness = await factory(identity);
      const ctx: Context = { store: harness.store, harness, identity };
      try {
        await body(ctx);
      } finally {
        await ctx.store.close();
        await harness.dispose?.();
      }
    };
    // Every adapter rejects with the adapter kit's StoreError (a LetheError with a code).
    const rejects = async (promise: Promise<unknown>, ...patterns: RegExp[]) => {
      const error = await storeRejection(promise);
      for (const pattern of patterns) expect(error.message).toMatch(pattern);
    };

    describe(`${name} store conformance (${dtype})`, () => {
      it(
        'starts empty with the identity it was given',
        run(3, async ({ store, identity }) => {
          expect({ ...store.manifest }).toEqual({
            ...identity,
            rowCount: 0,
            formatVersion: store.manifest.formatVersion,
          });
          expect(Number.isInteger(store.manifest.formatVersion)).toBe(true);
          expect(await store.liveIds()).toEqual(new Int32Array(0));
          expect(await store.has(0)).toBe(false);
        }),
      );

      it(
        'commits a deletion: rows erased, ledger entry appended, head weights replaced',
        run(3, async ({ store }) => {
          expect(await store.deletions()).toEqual([]);
          expect(await store.headWeights()).toBe(undefined);
          await store.writeRows([1, 2, 3], rowsFor([1, 2, 3], 3));
          const start = new Float32Array([1, 2, 3]);
          const after = new Float32Array([1.5, 2, 2.75]);
          const release = {
            mode: 'online' as const,
            requestIds: ['req-a'],
            sigma: 0.5,
            sensitivity: 0.1,
            epsilon: 1,
            delta: 1e-5,
          };
          const entry = await store.commitDeletion(
            deletionCommit(0, 'req-a', [2], start, after, { release }),
          );
          expect(entry.request).toBe(0);
          expect(entry.ids).toEqual([2]);
          expect(entry.weightsBeforeSha256).toBe(weightsSha256(start));
          expect(entry.weightsSha256).toBe(weightsSha256(after));
          expect(entry.release).toEqual(release);
          expect(Number.isNaN(Date.parse(entry.committedAt))).toBe(false);
          expect(await store.has(2)).toBe(false);
          expect(store.manifest.rowCount).toBe(2);
          await rejects(store.readRows([2]), /id 2/, /erased/);
          expect(await store.headWeights()).toEqual(after);
          // A second deletion chains on the first's weights; ids without rows (a lazy source's)
          // are recorded without erasing anything.
          const third = new Float32Array([0, 0, 1]);
          await store.commitDeletion({
            ...deletionCommit(1, 'req-b', [3, 7], after, third),
            erase: [3],
          });
          const ledger = await store.deletions();
          expect(ledger.map((e) => [e.request, e.requestId, e.ids])).toEqual([
            [0, 'req-a', [2]],
            [1, 'req-b', [3, 7]],
          ]);
          expect(ledger[1]!.weightsBeforeSha256).toBe(ledger[0]!.weightsSha256);
          expect(await store.headWeights()).toEqual(third);
          expect(Array.from(await store.liveIds())).toEqual([1]);
        }),
      );

      it(
        'refuses a commit that is stale, repeated or malformed, and changes nothing',
        run(2, async ({ store }) => {
          await store.writeRows([1, 2, 3], rowsFor([1, 2, 3], 2));
          const w0 = new Float32Array([1, 1]);
          const w1 = new Float32Array([2, 2]);
          await store.commitDeletion(deletionCommit(0, 'r0', [1], w0, w1));
          const before = await snapshotStore(store);
          const refused = async (commit: DeletionCommit, code: string, pattern: RegExp) => {
            const error = await storeRejection(store.commitDeletion(commit));
            expect(error.code).toBe(code);
            expect(error.message).toMatch(pattern);
          };
          await refused(
            deletionCommit(0, 'r1', [2], w1, w0),
            'ledger-conflict',
            /request 0.*holds 1/,
          );
          await refused(deletionCommit(1, 'r1', [2], w0, w1), 'ledger-conflict', /headWeights/);
          await refused(deletionCommit(1, 'r0', [2], w1, w0), 'duplicate-request', /"r0".*entry 0/);
          await refused(
            deletionCommit(1, 'r1', [1], w1, w0),
            'already-forgotten',
            /sample 1.*entry 0/,
          );
          await refused(
            { ...deletionCommit(1, 'r1', [2], w1, w0), erase: [3] },
            'invalid-argument',
            /erase lists 3/,
          );
          await refused(deletionCommit(1, 'r1', [9], w1, w0), 'unknown-id', /9/);
          await refused(
            deletionCommit(1, 'r1', [2], w1, new Float32Array(3)),
            'invalid-argument',
            /length d = 2/,
          );
          await refused(
            deletionCommit(1, 'r1', [2], w1, new Float32Array([0, Number.NaN])),
            'invalid-rows',
            /weights\[1\] is NaN/,
          );
          await refused(deletionCommit(1, '', [2], w1, w0), 'invalid-argument', /requestId/);
          await refused(
            deletionCommit(1, 'r1', [2, 2], w1, w0),
            'invalid-argument',
            /id 2 appears twice/,
          );
          await refused(
            deletionCommit(1, 'r1', [2], w1, w0, {
              release: {
                mode: 'online',
                requestIds: ['r1'],
                sigma: -1,
                sensitivity: 1,
                epsilon: 1,
                delta: 0.1,
              },
            }),
            'invalid-argument',
            /release must be/,
          );
          expect(await snapshotStore(store)).toEqual(before);
          expect((await store.deletions()).length).toBe(1);
          expect(await store.headWeights()).toEqual(w1);
        }),
      );

      it(
        'reads rows back in the order asked, whatever the write order',
        run(4, async ({ store }) => {
          await store.writeRows([5, 1, 9], rowsFor([5, 1, 9], 4));
          await store.writeRows(new Int32Array([3]), rowsFor([3], 4));
          expect(store.manifest.rowCount).toBe(4);
          expect(await store.readRows([9, 3, 5, 1])).toEqual(rowsFor([9, 3, 5, 1], 4));
          expect(await store.readRows(new Uint32Array([1]))).toEqual(rowsFor([1], 4));
        }),
      );

      it(
        'overwrites a live row without adding one',
        run(3, async ({ store }) => {
          await store.writeRows([1, 2], rowsFor([1, 2], 3));
          const replacement = new Float32Array([0.5, -0.25, 8]);
          await store.writeRows([2], replacement);
          expect(store.manifest.rowCount).toBe(2);
          expect(await store.readRows([2, 1])).toEqual(concat(replacement, rowsFor([1], 3)));
        }),
      );

      it(
        'lists live ids ascending and answers has()',
        run(2, async ({ store }) => {
          await store.writeRows([40, 3, 17], rowsFor([40, 3, 17], 2));
          await store.writeRows([0], rowsFor([0], 2));
          const ids = await store.liveIds();
          expect(ids).toBeInstanceOf(Int32Array);
          expect(Array.from(ids)).toEqual([0, 3, 17, 40]);
          expect(await store.has(17)).toBe(true);
          expect(await store.has(18)).toBe(false);
        }),
      );

      it(
        'reads a block of the sorted live rows as a strided [count, d] ndarray',
        run(3, async ({ store }) => {
          await store.writeRows([8, 2, 6, 4], rowsFor([8, 2, 6, 4], 3));
          const block = await store.readBlock(1, 2); // live ids 2, 4, 6, 8: rows of 4 and 6
          expect(block.shape).toEqual([2, 3]);
          // Plain row-major over its own rows: block.data is the block, nothing more.
          expect([block.stride, block.offset, block.data.length]).toEqual([[3, 1], 0, 6]);
          const expected = rowsFor([4, 6], 3);
          for (let i = 0; i < 2; i++) {
            for (let j = 0; j < 3; j++) expect(block.get(i, j)).toBe(expected[i * 3 + j]);
          }
          const column = block.pick(null, 2); // strided access: one parameter across rows
          expect([column.get(0), column.get(1)]).toEqual([expected[2], expected[5]]);
          expect((await store.readBlock(4, 0)).shape).toEqual([0, 3]);
          const all = await store.readBlock(0, 4);
          expect(Array.from(all.data)).toEqual(Array.from(rowsFor([2, 4, 6, 8], 3)));
        }),
      );

      it(
        'rejects block ranges outside the live rows',
        run(2, async ({ store }) => {
          await store.writeRows([1, 2, 3], rowsFor([1, 2, 3], 2));
          await rejects(store.readBlock(2, 2), /readBlock/, /3 live rows/);
          await rejects(store.readBlock(-1, 1), /start/);
          await rejects(store.readBlock(0, 1.5), /count/);
        }),
      );

      it(
        'erases rows from reads, ids, blocks and rowCount',
        run(2, async ({ store }) => {
          await store.writeRows([1, 2, 3, 4], rowsFor([1, 2, 3, 4], 2));
          await store.erase([3, 1]);
          expect(store.manifest.rowCount).toBe(2);
          expect(Array.from(await store.liveIds())).toEqual([2, 4]);
          expect(await store.has(3)).toBe(false);
          expect(await store.readRows([4, 2])).toEqual(rowsFor([4, 2], 2));
          expect(Array.from((await store.readBlock(0, 2)).data)).toEqual(
            Array.from(rowsFor([2, 4], 2)),
          );
        }),
      );

      it(
        'rejects erasing unknown or already erased ids and changes nothing',
        run(2, async ({ store }) => {
          await store.writeRows([1, 2, 3], rowsFor([1, 2, 3], 2));
          await store.erase([2]);
          const before = await snapshotStore(store);
          await rejects(store.erase([1, 2]), /erase/, /id 2/, /already erased/);
          await rejects(store.erase([3, 99]), /erase/, /id 99/, /not in the store/);
          expect(await snapshotStore(store)).toEqual(before);
        }),
      );

      it(
        'rejects reading unknown or erased ids, naming the id',
        run(2, async ({ store }) => {
          await store.writeRows([1, 2], rowsFor([1, 2], 2));
          await store.erase([2]);
          await rejects(store.readRows([1, 7]), /readRows/, /id 7/, /not in the store/);
          await rejects(store.readRows([2]), /readRows/, /id 2/, /erased/);
        }),
      );

      it(
        'refuses to write an erased id again',
        run(2, async ({ store }) => {
          await store.writeRows([1, 2], rowsFor([1, 2], 2));
          await store.erase([2]);
          const before = await snapshotStore(store);
          await rejects(store.writeRows([3, 2], rowsFor([3, 2], 2)), /writeRows/, /id 2/, /erased/);
          expect(await snapshotStore(store)).toEqual(before);
        }),
      );

      it(
        'rejects rows of the wrong length and changes nothing',
        run(3, async ({ store }) => {
          await store.writeRows([1], rowsFor([1], 3));
          const before = await snapshotStore(store);
          await rejects(store.writeRows([2, 3], new Float32Array(5)), /writeRows/, /5 values/, /6/);
          await rejects(store.writeRows([2], [1, 2, 3] as unknown as Float32Array), /Float32Array/);
          expect(await snapshotStore(store)).toEqual(before);
        }),
      );

      it(
        'rejects NaN and Infinity naming the id and index, writing nothing of the batch',
        run(4, async ({ store }) => {
          await store.writeRows([1], rowsFor([1], 4));
          const before = await snapshotStore(store);
          const rows = rowsFor([1, 2, 3], 4);
          rows[2 * 4 + 3] = Number.NaN;
          await rejects(store.writeRows([1, 2, 3], rows), /id 3/, /index 3/, /NaN/, /recompute/);
          rows[2 * 4 + 3] = 0;
          rows[4 + 1] = Number.NEGATIVE_INFINITY;
          await rejects(store.writeRows([1, 2, 3], rows), /id 2/, /index 1/, /-Infinity/);
          expect(await snapshotStore(store)).toEqual(before);
        }),
      );

      it(
        'rejects negative, non-integer, out-of-range and duplicate ids',
        run(2, async ({ store }) => {
          await store.writeRows([1], rowsFor([1], 2));
          const before = await snapshotStore(store);
          await rejects(store.writeRows([-1], rowsFor([0], 2)), /ids\[0\] is -1/);
          await rejects(store.writeRows([2, 1.5], rowsFor([0, 0], 2)), /ids\[1\] is 1\.5/);
          await rejects(store.writeRows([2 ** 31], rowsFor([0], 2)), /2147483648/);
          await rejects(store.writeRows([4, 5, 4], rowsFor([4, 5, 4], 2)), /id 4 appears twice/);
          await rejects(store.readRows([1, 1]), /id 1 appears twice/);
          await rejects(store.erase([1, 1]), /id 1 appears twice/);
          await rejects(store.has(-3), /has/, /-3/);
          expect(await snapshotStore(store)).toEqual(before);
        }),
      );

      it(
        'hands out copies: changing inputs or outputs later does not change the store',
        run(2, async ({ store }) => {
          const rows = rowsFor([1], 2);
          await store.writeRows([1], rows);
          rows.fill(7);
          const read = await store.readRows([1]);
          read.fill(9);
          const block = await store.readBlock(0, 1);
          block.set(0, 0, 11);
          const ids = await store.liveIds();
          ids[0] = 5;
          expect(await store.readRows([1])).toEqual(rowsFor([1], 2));
          expect(Array.from(await store.liveIds())).toEqual([1]);
        }),
      );

      it(
        'treats empty calls as no-ops',
        run(2, async ({ store }) => {
          await store.writeRows([], new Float32Array(0));
          await store.erase([]);
          expect(await store.readRows([])).toEqual(new Float32Array(0));
          expect(store.manifest.rowCount).toBe(0);
        }),
      );

      it(
        'rejects every call after close',
        run(2, async ({ store }) => {
          await store.writeRows([1], rowsFor([1], 2));
          await store.close();
          await rejects(store.readRows([1]), /closed/);
          await rejects(store.writeRows([2], rowsFor([2], 2)), /closed/);
          await rejects(store.readBlock(0, 1), /closed/);
          await rejects(store.erase([1]), /closed/);
          await rejects(store.has(1), /closed/);
          await rejects(store.liveIds(), /closed/);
          await store.close();
        }),
      );

      it(
        'agrees with a reference map over a seeded random sequence of operations',
        run(5, async (ctx) => {
          const { store } = ctx;
          const d = 5;
          const rng = new Rng(20240607);
          const pick = (n: number) => rng.nextInt(n);
          const reference = new Map<number, Float32Array>();
          const erased = new Set<number>();
          for (let step = 0; step < 120; step++) {
            const live = [...reference.keys()];
            const choice = pick(10);
            if (choice < 5 || live.length === 0) {
              const ids = distinct(1 + pick(4), 40, pick).filter((id) => !erased.has(id));
              const rows = new Float32Array(ids.length * d).map(() => (pick(4001) - 2000) / 16);
              await store.writeRows(ids, rows);
              ids.forEach((id, i) => {
                reference.set(id, rows.slice(i * d, (i + 1) * d));
              });
            } else if (choice < 7) {
              const ids = distinct(1 + pick(2), live.length, pick).map((i) => live[i]!);
              await store.erase(ids);
              for (const id of ids) {
                reference.delete(id);
                erased.add(id);
              }
            } else if (choice < 9) {
              const ids = distinct(1 + pick(live.length), live.length, pick).map((i) => live[i]!);
              expect(await store.readRows(ids)).toEqual(
                concat(...ids.map((id) => reference.get(id)!)),
              );
            } else {
              const sorted = live.sort((a, b) => a - b);
              const start = pick(sorted.length);
              const count = pick(sorted.length - start + 1);
              const block = await store.readBlock(start, count);
              const want = concat(
                ...sorted.slice(start, start + count).map((id) => reference.get(id)!),
              );
              expect(Array.from(block.data)).toEqual(Array.from(want));
            }
            expect(store.manifest.rowCount).toBe(reference.size);
          }
          const ids = [...reference.keys()].sort((a, b) => a - b);
          expect(Array.from(await store.liveIds())).toEqual(ids);
          expect(await store.readRows(ids)).toEqual(concat(...ids.map((id) => reference.get(id)!)));
        }),
      );

      if (dtype === 'float16') {
        it(
          'rounds to the nearest float16 (relative error <= 2^-11) and rejects overflow',
          run(8, async ({ store }) => {
            const values = new Float32Array([
              0.1,
              1 / 3,
              1000.7,
              -2.5e-6,
              1e-8,
              65504,
              -65519,
              12.3456,
            ]);
            await store.writeRows([1], values);
            const read = await store.readRows([1]);
            values.forEach((v, j) => {
              expect(read[j]).toBe(roundToFloat16(v));
              if (Math.abs(v) >= 2 ** -14) {
                expect(Math.abs(read[j]! - v)).toBeLessThanOrEqual(2 ** -11 * Math.abs(v));
              }
            });
            const before = await snapshotStore(store);
            const big = new Float32Array(8);
            big[6] = -FLOAT16_OVERFLOW;
            await rejects(store.writeRows([2], big), /id 2/, /index 6/, /float16/, /float32/);
            expect(await snapshotStore(store)).toEqual(before);
          }),
        );
      } else {
        it(
          'keeps float32 values bit for bit, subnormals and -0 included',
          run(6, async ({ store }) => {
            const values = new Float32Array([Math.PI, -0, 1e-40, 3.4e38, -1.5e-45, 123456.789]);
            await store.writeRows([1], values);
            const read = await store.readRows([1]);
            expect(Array.from(new Uint32Array(read.buffer))).toEqual(
              Array.from(new Uint32Array(values.buffer)),
            );
          }),
        );
      }

      if (options.persistent !== true) return;

      it(
        'keeps the deletion ledger and head weights across a reopen, and the old head leaves no bytes',
        run(8, async (ctx) => {
          const reopen = required(ctx.harness, 'reopen');
          const persistedBytes = required(ctx.harness, 'persistedBytes');
          await ctx.store.writeRows([1, 2, 3], rowsFor([1, 2, 3], 8));
          const w0 = new Float32Array(8);
          const w1 = new Float32Array(8).map((_, j) => 3000.5 + 17 * j);
          const w2 = new Float32Array(8).map((_, j) => -2000.25 - 13 * j);
          await ctx.store.commitDeletion(deletionCommit(0, 'first', [1], w0, w1));
          const windows = byteWindows(w1, 'float32', 4);
          expect(await foundWindows(persistedBytes, windows)).toBe(windows.length);
          await ctx.store.commitDeletion(deletionCommit(1, 'second', [2, 3], w1, w2));
          // The weights before a deletion carry the forgotten samples' influence: gone at rest.
          expect(await foundWindows(persistedBytes, windows)).toBe(0);
          const ledger = await ctx.store.deletions();
          await ctx.store.close();
          ctx.store = await reopen();
          expect(await ctx.store.deletions()).toEqual(ledger);
          expect(await ctx.store.headWeights()).toEqual(w2);
          await rejects(
            ctx.store.commitDeletion(deletionCommit(2, 'first', [4], w2, w0)),
            /already committed/,
          );
        }),
      );

      it(
        'keeps rows, erased ids and the manifest across a reopen',
        run(3, async (ctx) => {
          const reopen = required(ctx.harness, 'reopen');
          await ctx.store.writeRows([4, 2, 9], rowsFor([4, 2, 9], 3));
          await ctx.store.writeRows([2], new Float32Array([1, 2, 3]));
          await ctx.store.erase([9]);
          const before = await snapshotStore(ctx.store);
          await ctx.store.close();
          ctx.store = await reopen();
          expect(await snapshotStore(ctx.store)).toEqual(before);
          await rejects(ctx.store.readRows([9]), /id 9/, /erased/);
          await rejects(ctx.store.writeRows([9], rowsFor([9], 3)), /id 9/, /erased/);
        }),
      );

      it(
        'leaves no bytes of an erased row at rest',
        run(8, async ({ store, harness }) => {
          const persistedBytes = required(harness, 'persistedBytes');
          const secret = new Float32Array(8).map(
            (_, j) => (j % 2 === 0 ? 1 : -1) * (1024 + 37 * j),
          );
          await store.writeRows([1, 2], rowsFor([1, 2], 8));
          await store.writeRows([7, 3], concat(secret, rowsFor([3], 8)));
          const windows = byteWindows(secret, dtype, 4);
          // The scan must see the row while it is live, or its silence after erasing means nothing.
          expect(await foundWindows(persistedBytes, windows)).toBe(windows.length);
          await store.erase([7]);
          expect(await foundWindows(persistedBytes, windows)).toBe(0);
          expect(await store.readRows([3, 1])).toEqual(rowsFor([3, 1], 8));
        }),
      );
    });
  }
}

function required<K extends 'reopen' | 'persistedBytes'>(
  harness: ConformanceHarness,
  key: K,
): NonNullable<ConformanceHarness[K]> {
  const value = harness[key];
  if (value === undefined) {
    throw new StoreError(
      'invalid-argument',
      `describeStoreConformance: the suite runs with { persistent: true }, but the factory's harness has no ${key}(); return ${key} from the factory, or drop { persistent: true } and test persistence in the adapter's own tests.`,
    );
  }
  return value as NonNullable<ConformanceHarness[K]>;
}

/** A deletion commit for the suite: `before` and `after` are the weights around it. */
function deletionCommit(
  request: number,
  requestId: string,
  ids: number[],
  before: Float32Array,
  after: Float32Array,
  extra: Partial<DeletionCommit> = {},
): DeletionCommit {
  return {
    request,
    requestId,
    ids,
    mode: ids.length === 1 ? 'online' : 'batch',
    weights: after,
    weightsBeforeSha256: weightsSha256(before),
    erase: ids,
    ...extra,
  };
}

/** Row values that float16 represents exactly (multiples of 1/8 below 128), distinct per id. */
function rowsFor(ids: readonly number[], d: number): Float32Array {
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, i) => {
    for (let j = 0; j < d; j++) out[i * d + j] = (((id * 37 + j * 11) % 2000) - 1000) / 8;
  });
  return out;
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** `count` distinct integers below `n` (fewer if n < count). */
function distinct(count: number, n: number, pick: (n: number) => number): number[] {
  const out = new Set<number>();
  while (out.size < Math.min(count, n)) out.add(pick(n));
  return [...out];
}

/** Every run of `width` consecutive values of `row`, encoded as the store keeps them. */
function byteWindows(row: Float32Array, dtype: StoreDType, width: number): Uint8Array[] {
  const size = dtype === 'float16' ? 2 : 4;
  const bytes = new Uint8Array(row.length * size);
  const view = new DataView(bytes.buffer);
  row.forEach((v, j) => {
    if (dtype === 'float16') view.setUint16(j * 2, toFloat16Bits(v), true);
    else view.setFloat32(j * 4, v, true);
  });
  const windows: Uint8Array[] = [];
  for (let j = 0; j + width <= row.length; j++) {
    windows.push(bytes.slice(j * size, (j + width) * size));
  }
  return windows;
}

async function foundWindows(
  persistedBytes: () => Promise<Uint8Array[]>,
  windows: Uint8Array[],
): Promise<number> {
  const blobs = (await persistedBytes()).map((b) => Buffer.from(b.buffer, b.byteOffset, b.length));
  return windows.filter((w) => blobs.some((blob) => blob.indexOf(w) !== -1)).length;
}

export {
  builtModule,
  containsBytes,
  float32Bytes,
  snapshotStore,
  storeRejection,
  TEST_IDENTITY,
  tempDir,
  testRows,
} from './test-support.js';
