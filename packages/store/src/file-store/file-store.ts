import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import ndarray from 'ndarray';
import { isSystemError, StoreError, storeIoError } from '../errors.js';
import type { LedgerBook } from '../ledger.js';
import { bytesPerValue, decodeRows, encodeRows } from '../row-codec.js';
import { SerialQueue } from '../serial-queue.js';
import type {
  ApproximatorStore,
  DeletionCommit,
  DeletionEntry,
  RowBlock,
  StoreIdentity,
  StoreManifest,
} from '../types.js';
import {
  requireLiveIds,
  type StoreIdState,
  validateBlockRange,
  validateId,
  validateIds,
  validateWrite,
} from '../validate.js';
import {
  type CommitHook,
  renameTempFile,
  scrubAndRemove,
  syncDirectory,
  writeTempFile,
} from './durable-fs.js';
import {
  corruptStoreError,
  FILE_FORMAT_VERSION,
  FORMAT_NAME,
  type HeadEntry,
  headFileName,
  MANIFEST_FILE,
  type ManifestBody,
  segmentFileName,
  serializeManifest,
  sha256Hex,
  TEMP_SUFFIX,
} from './format.js';
import { buildSegment, type PendingSegment, readSegmentRows, type Segment } from './segment.js';

interface Location {
  readonly segment: Segment;
  readonly row: number;
}

/**
 * What one commit changes: segments to add, segments to drop, ids newly erased; a deletion
 * commit also appends a ledger entry and replaces the head weights.
 */
interface Change {
  readonly add: readonly PendingSegment[];
  readonly remove: readonly Segment[];
  readonly erased: Int32Array;
  readonly deletion?: { readonly entry: DeletionEntry; readonly weights: Float32Array };
}

/** The head weights: their file and, in memory, the values. */
export interface Head {
  readonly entry: HeadEntry;
  readonly weights: Float32Array;
}

export interface FileStoreState {
  readonly generation: number;
  readonly segments: readonly Segment[];
  readonly erased: Iterable<number>;
  readonly ledger: LedgerBook;
  readonly head: Head | undefined;
}

export class FileStore implements ApproximatorStore {
  readonly #dir: string;
  readonly #identity: StoreIdentity;
  readonly #rowBytes: number;
  readonly #releaseLock: () => Promise<void>;
  readonly #maxSegmentBytes: number;
  readonly #hook: CommitHook | undefined;
  readonly #queue = new SerialQueue();
  #generation: number;
  #segments: Segment[];
  readonly #where = new Map<number, Location>();
  readonly #erased: Set<number>;
  readonly #ledger: LedgerBook;
  #head: Head | undefined;
  #sortedIds: Int32Array | null = null;
  #closed = false;

  constructor(
    dir: string,
    identity: StoreIdentity,
    state: FileStoreState,
    releaseLock: () => Promise<void>,
    maxSegmentBytes: number,
    hook?: CommitHook,
  ) {
    this.#dir = dir;
    this.#identity = identity;
    this.#rowBytes = identity.d * bytesPerValue(identity.dtype);
    this.#releaseLock = releaseLock;
    this.#maxSegmentBytes = maxSegmentBytes;
    this.#hook = hook;
    this.#generation = state.generation;
    this.#segments = [...state.segments];
    for (const segment of this.#segments) this.#index(segment);
    this.#erased = new Set(state.erased);
    this.#ledger = state.ledger;
    this.#head = state.head;
  }

  get manifest(): StoreManifest {
    return Object.freeze({
      ...this.#identity,
      rowCount: this.#where.size,
      formatVersion: FILE_FORMAT_VERSION,
    });
  }

  writeRows(ids: ArrayLike<number>, rows: Float32Array): Promise<void> {
    return this.#run('writeRows', async () => {
      this.#assertOpen('writeRows');
      const { d, dtype } = this.#identity;
      const idList = validateWrite(ids, rows, this.#identity, (id) => this.#erased.has(id));
      if (idList.length === 0) return;
      // Segments keep ids ascending, so that a block of sorted ids is mostly one run of bytes.
      const order = Array.from(idList.keys()).sort((a, b) => idList[a]! - idList[b]!);
      const ascendingIds = Int32Array.from(order, (i) => idList[i]!);
      const sortedRows = new Float32Array(rows.length);
      order.forEach((from, to) => {
        sortedRows.set(rows.subarray(from * d, (from + 1) * d), to * d);
      });
      // Overwritten rows leave their old segments, so that every id lives in one segment.
      const generation = this.#generation + 1;
      const change = await this.#planWithout(idList, generation);
      // Large writes are cut into bounded segments, so that erasing a row later rewrites one
      // bounded segment, not everything written together with it.
      const perSegment = Math.max(1, Math.floor(this.#maxSegmentBytes / this.#rowBytes));
      const add = [...change.add];
      for (let from = 0; from < ascendingIds.length; from += perSegment) {
        const to = Math.min(from + perSegment, ascendingIds.length);
        const bytes = encodeRows(sortedRows.subarray(from * d, to * d), dtype);
        const file = segmentFileName(generation, add.length);
        add.push(buildSegment(file, ascendingIds.slice(from, to), bytes, d, dtype));
      }
      await this.#commit('writeRows', { ...change, add }, false);
    });
  }

  readRows(ids: ArrayLike<number>): Promise<Float32Array> {
    return this.#run('readRows', async () => {
      this.#assertOpen('readRows');
      const idList = validateIds('readRows', ids);
      requireLiveIds('readRows', idList, (id) => this.#stateOf(id));
      return this.#read(idList);
    });
  }

  readBlock(start: number, count: number): Promise<RowBlock> {
    return this.#run('readBlock', async () => {
      this.#assertOpen('readBlock');
      validateBlockRange(start, count, this.#where.size);
      const ids = this.#liveIds().subarray(start, start + count);
      return ndarray(await this.#read(ids), [count, this.#identity.d]);
    });
  }

  erase(ids: ArrayLike<number>): Promise<void> {
    return this.#run('erase', async () => {
      this.#assertOpen('erase');
      const idList = validateIds('erase', ids);
      requireLiveIds('erase', idList, (id) => this.#stateOf(id));
      if (idList.length === 0) return;
      // The affected segments are rewritten without the rows; the old files are then scrubbed.
      const change = await this.#planWithout(idList, this.#generation + 1);
      await this.#commit('erase', { ...change, erased: idList }, true);
    });
  }

  commitDeletion(commit: DeletionCommit): Promise<DeletionEntry> {
    return this.#run('commitDeletion', async () => {
      this.#assertOpen('commitDeletion');
      const { entry, erase } = this.#ledger.prepare(commit, this.#identity.d);
      requireLiveIds('commitDeletion', erase, (id) => this.#stateOf(id));
      const weights = Float32Array.from(commit.weights);
      const change = await this.#planWithout(erase, this.#generation + 1);
      await this.#commit(
        'commitDeletion',
        { ...change, erased: erase, deletion: { entry, weights } },
        true,
      );
      return entry;
    });
  }

  deletions(): Promise<readonly DeletionEntry[]> {
    return this.#run('deletions', async () => {
      this.#assertOpen('deletions');
      return [...this.#ledger.entries];
    });
  }

  headWeights(): Promise<Float32Array | undefined> {
    return this.#run('headWeights', async () => {
      this.#assertOpen('headWeights');
      return this.#head?.weights.slice();
    });
  }

  has(id: number): Promise<boolean> {
    return this.#run('has', async () => {
      this.#assertOpen('has');
      validateId('has', id);
      return this.#where.has(id);
    });
  }

  liveIds(): Promise<Int32Array> {
    return this.#run('liveIds', async () => {
      this.#assertOpen('liveIds');
      return this.#liveIds().slice();
    });
  }

  close(): Promise<void> {
    return this.#run('close', async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#releaseLock();
    });
  }

  /** Plans rewriting every segment that holds one of `ids` without those rows. */
  async #planWithout(ids: Int32Array, generation: number): Promise<Change> {
    const hit = new Map<Segment, Set<number>>();
    for (const id of ids) {
      const at = this.#where.get(id);
      if (at === undefined) continue;
      const rows = hit.get(at.segment) ?? new Set<number>();
      hit.set(at.segment, rows.add(at.row));
    }
    const add: PendingSegment[] = [];
    const remove: Segment[] = [];
    for (const [segment, dropped] of hit) {
      remove.push(segment);
      const keep = Array.from(segment.ids.keys()).filter((row) => !dropped.has(row));
      if (keep.length === 0) continue;
      const bytes = await readSegmentRows(this.#dir, segment, keep, this.#rowBytes);
      const keptIds = Int32Array.from(keep, (row) => segment.ids[row]!);
      const file = segmentFileName(generation, add.length);
      add.push(buildSegment(file, keptIds, bytes, this.#identity.d, this.#identity.dtype));
    }
    return { add, remove, erased: new Int32Array(0) };
  }

  /**
   * Writes the new segments and then the new manifest, each to a temporary file that is fsynced
   * and renamed. The manifest's rename is the commit point: before it the old manifest still
   * names the old, untouched files; after it the old segments are garbage and are removed
   * (scrubbed first when they held erased rows). Opening a store deletes what a crash left.
   */
  async #commit(op: string, change: Change, scrub: boolean): Promise<void> {
    const dir = this.#dir;
    const hook = this.#hook;
    const generation = this.#generation + 1;
    const removed = new Set(change.remove);
    const segments = [
      ...this.#segments.filter((s) => !removed.has(s)),
      ...change.add.map((p) => p.segment),
    ];
    const erased = new Set(this.#erased);
    for (const id of change.erased) erased.add(id);
    const head = change.deletion && headOf(change.deletion.weights, generation);
    const ledger = [...this.#ledger.entries, ...(change.deletion ? [change.deletion.entry] : [])];
    const headEntry = head?.entry ?? this.#head?.entry;
    const body: ManifestBody = {
      format: FORMAT_NAME,
      formatVersion: FILE_FORMAT_VERSION,
      ...this.#identity,
      rowCount: segments.reduce((n, s) => n + s.ids.length, 0),
      generation,
      segments: segments.map((s) => ({
        file: s.file,
        rows: s.ids.length,
        bytes: s.bytes,
        sha256: s.sha256,
      })),
      erasedIds: Array.from(erased).sort((a, b) => a - b),
      ledger,
      ...(headEntry === undefined ? {} : { head: headEntry }),
    };
    const files = [
      ...change.add.map((p) => ({ file: p.segment.file, chunks: p.chunks })),
      ...(head ? [{ file: head.entry.file, chunks: [head.bytes] }] : []),
    ];
    const written: string[] = [];
    try {
      for (const { file, chunks } of files) {
        written.push(file + TEMP_SUFFIX);
        await writeTempFile(dir, file, chunks, hook);
        await hook?.('segment-tmp-written');
      }
      for (const { file } of files) {
        written.push(file);
        await renameTempFile(dir, file);
      }
      await syncDirectory(dir);
      await hook?.('segments-renamed');
      written.push(MANIFEST_FILE + TEMP_SUFFIX);
      await writeTempFile(dir, MANIFEST_FILE, [serializeManifest(body)]);
      await hook?.('manifest-tmp-written');
      await renameTempFile(dir, MANIFEST_FILE);
    } catch (error) {
      await Promise.all(written.map((f) => rm(join(dir, f), { force: true }).catch(() => {})));
      throw new StoreError(
        'io',
        `${op}: writing approximator store ${dir} failed (${(error as Error).message}); nothing was changed, the store keeps its previous state.`,
        { cause: error },
      );
    }
    const oldHead = head ? this.#head : undefined;
    this.#apply(generation, change, segments, erased);
    if (head) this.#head = { entry: head.entry, weights: change.deletion!.weights };
    try {
      await syncDirectory(dir);
      await hook?.('manifest-renamed');
      // An old head holds weights from before the deletion: scrubbed like an erased row.
      const old = [...change.remove.map((s) => s.file), ...(oldHead ? [oldHead.entry.file] : [])];
      for (const file of old) {
        const path = join(dir, file);
        await (scrub ? scrubAndRemove(path) : rm(path, { force: true }));
      }
      await syncDirectory(dir);
      await hook?.('old-segments-removed');
    } catch (error) {
      if (!scrub) return; // only stale copies remain; the next open deletes them
      const what = change.deletion
        ? `the deletion is committed (ledger entry ${change.deletion.entry.request}; deletions() lists it)`
        : 'the ids are erased from the manifest';
      throw new StoreError(
        'io',
        `${op}: ${what}, but removing the old files from ${dir} failed (${(error as Error).message}); those bytes stay on disk until the store is opened again, which deletes them.`,
        { cause: error },
      );
    }
  }

  #apply(generation: number, change: Change, segments: Segment[], erased: Set<number>): void {
    if (change.deletion) this.#ledger.append(change.deletion.entry);
    for (const segment of change.remove) {
      for (const id of segment.ids) this.#where.delete(id);
    }
    for (const { segment } of change.add) this.#index(segment);
    for (const id of erased) this.#erased.add(id);
    this.#segments = segments;
    this.#generation = generation;
    this.#sortedIds = null;
  }

  #index(segment: Segment): void {
    segment.ids.forEach((id, row) => {
      this.#where.set(id, { segment, row });
    });
  }

  async #read(ids: Int32Array): Promise<Float32Array> {
    const { d, dtype } = this.#identity;
    const out = new Float32Array(ids.length * d);
    const bySegment = new Map<Segment, { rows: number[]; positions: number[] }>();
    ids.forEach((id, position) => {
      const { segment, row } = this.#where.get(id)!;
      const group = bySegment.get(segment) ?? { rows: [], positions: [] };
      bySegment.set(segment, group);
      group.rows.push(row);
      group.positions.push(position);
    });
    for (const [segment, { rows, positions }] of bySegment) {
      const bytes = await readSegmentRows(this.#dir, segment, rows, this.#rowBytes);
      positions.forEach((position, k) => {
        const row = bytes.subarray(k * this.#rowBytes, (k + 1) * this.#rowBytes);
        decodeRows(row, dtype, out, position * d);
      });
    }
    return out;
  }

  /**
   * Runs `body` after every earlier call. What Node's file system throws becomes a StoreError: a
   * segment file that has gone is a damaged store, anything else an I/O failure ('io').
   */
  #run<T>(op: string, body: () => Promise<T>): Promise<T> {
    return this.#queue.run(async () => {
      try {
        return await body();
      } catch (error) {
        if (
          isSystemError(error) &&
          error.code === 'ENOENT' &&
          error.path !== undefined &&
          dirname(error.path) === this.#dir
        ) {
          throw corruptStoreError(
            this.#dir,
            basename(error.path),
            `missing, though ${MANIFEST_FILE} lists it (deleted while the store was open?)`,
          );
        }
        throw storeIoError(op, this.#dir, error);
      }
    });
  }

  #stateOf(id: number): StoreIdState {
    if (this.#where.has(id)) return 'live';
    return this.#erased.has(id) ? 'erased' : 'unknown';
  }

  #liveIds(): Int32Array {
    this.#sortedIds ??= Int32Array.from(this.#where.keys()).sort();
    return this.#sortedIds;
  }

  #assertOpen(op: string): void {
    if (this.#closed) {
      throw new StoreError(
        'closed',
        `${op}: the store is closed; open it again with openFileStore`,
      );
    }
  }
}

/** The head file a deletion commit writes: d float32 little-endian, named by generation. */
function headOf(
  weights: Float32Array,
  generation: number,
): { entry: HeadEntry; bytes: Uint8Array } {
  const bytes = encodeRows(weights, 'float32');
  return {
    entry: { file: headFileName(generation), bytes: bytes.length, sha256: sha256Hex(bytes) },
    bytes,
  };
}
