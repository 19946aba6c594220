import ndarray from 'ndarray';
import { StoreError } from './errors.js';
import { LedgerBook } from './ledger.js';
import { bytesPerValue, decodeRows, encodeRows } from './row-codec.js';
import type {
  ApproximatorStore,
  DeletionCommit,
  DeletionEntry,
  RowBlock,
  StoreIdentity,
  StoreManifest,
} from './types.js';
import {
  requireLiveIds,
  validateBlockRange,
  validateId,
  validateIdentity,
  validateIds,
  validateWrite,
} from './validate.js';

export const MEMORY_FORMAT_VERSION = 1;

/**
 * An approximator store in process memory, for tests and for runs whose n x d rows fit in RAM.
 * float16 stores keep the rounded 2-byte values, so precision matches the file adapter's.
 */
export function createMemoryStore(
  init: Omit<StoreManifest, 'rowCount' | 'formatVersion'>,
): ApproximatorStore {
  return new MemoryStore(validateIdentity(init, 'createMemoryStore'));
}

class MemoryStore implements ApproximatorStore {
  readonly #identity: StoreIdentity;
  /** id -> the row's little-endian bytes in the store's dtype. */
  readonly #rows = new Map<number, Uint8Array>();
  readonly #erased = new Set<number>();
  #sortedIds: Int32Array | null = null;
  #closed = false;
  readonly #ledger = new LedgerBook([], (problem) => new StoreError('corrupt-store', problem));
  #head: Float32Array | undefined;

  constructor(identity: StoreIdentity) {
    this.#identity = identity;
  }

  get manifest(): StoreManifest {
    return Object.freeze({
      ...this.#identity,
      rowCount: this.#rows.size,
      formatVersion: MEMORY_FORMAT_VERSION,
    });
  }

  async writeRows(ids: ArrayLike<number>, rows: Float32Array): Promise<void> {
    this.#assertOpen('writeRows');
    const { d, dtype } = this.#identity;
    const idList = validateWrite(ids, rows, this.#identity, (id) => this.#erased.has(id));
    // Everything is checked, so from here on nothing can fail half-way.
    const encoded = encodeRows(rows, dtype);
    const rowBytes = d * bytesPerValue(dtype);
    idList.forEach((id, i) => {
      this.#rows.set(id, encoded.slice(i * rowBytes, (i + 1) * rowBytes));
    });
    this.#sortedIds = null;
  }

  async readRows(ids: ArrayLike<number>): Promise<Float32Array> {
    this.#assertOpen('readRows');
    const idList = validateIds('readRows', ids);
    requireLiveIds('readRows', idList, (id) => this.#stateOf(id));
    return this.#decode(idList);
  }

  async readBlock(start: number, count: number): Promise<RowBlock> {
    this.#assertOpen('readBlock');
    validateBlockRange(start, count, this.#rows.size);
    const ids = this.#liveIds().subarray(start, start + count);
    return ndarray(this.#decode(ids), [count, this.#identity.d]);
  }

  async erase(ids: ArrayLike<number>): Promise<void> {
    this.#assertOpen('erase');
    const idList = validateIds('erase', ids);
    requireLiveIds('erase', idList, (id) => this.#stateOf(id));
    this.#drop(idList);
  }

  async commitDeletion(commit: DeletionCommit): Promise<DeletionEntry> {
    this.#assertOpen('commitDeletion');
    const { entry, erase } = this.#ledger.prepare(commit, this.#identity.d);
    requireLiveIds('commitDeletion', erase, (id) => this.#stateOf(id));
    // Everything is checked; nothing below can fail, so the three changes land together.
    this.#drop(erase);
    this.#ledger.append(entry);
    this.#head = Float32Array.from(commit.weights);
    return entry;
  }

  async deletions(): Promise<readonly DeletionEntry[]> {
    this.#assertOpen('deletions');
    return [...this.#ledger.entries];
  }

  async headWeights(): Promise<Float32Array | undefined> {
    this.#assertOpen('headWeights');
    return this.#head?.slice();
  }

  #drop(idList: Int32Array): void {
    for (const id of idList) {
      // Zero the bytes before dropping them, so no copy of the vector waits for the collector.
      this.#rows.get(id)!.fill(0);
      this.#rows.delete(id);
      this.#erased.add(id);
    }
    this.#sortedIds = null;
  }

  async has(id: number): Promise<boolean> {
    this.#assertOpen('has');
    validateId('has', id);
    return this.#rows.has(id);
  }

  async liveIds(): Promise<Int32Array> {
    this.#assertOpen('liveIds');
    return this.#liveIds().slice();
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #stateOf(id: number) {
    if (this.#rows.has(id)) return 'live' as const;
    return this.#erased.has(id) ? ('erased' as const) : ('unknown' as const);
  }

  #liveIds(): Int32Array {
    this.#sortedIds ??= Int32Array.from(this.#rows.keys()).sort();
    return this.#sortedIds;
  }

  #decode(ids: Int32Array): Float32Array {
    const { d, dtype } = this.#identity;
    const out = new Float32Array(ids.length * d);
    ids.forEach((id, i) => {
      decodeRows(this.#rows.get(id)!, dtype, out, i * d);
    });
    return out;
  }

  #assertOpen(op: string): void {
    if (this.#closed) {
      throw new StoreError('closed', `${op}: the store is closed; create or open a new one`);
    }
  }
}
