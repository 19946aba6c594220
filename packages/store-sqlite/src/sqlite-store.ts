import { crc32 } from 'node:zlib';
import {
  type ApproximatorStore,
  type DeletionCommit,
  type DeletionEntry,
  type RowBlock,
  StoreError,
  type StoreIdentity,
  type StoreManifest,
} from '@lethe/store';
import {
  bytesPerValue,
  decodeRows,
  encodeRows,
  type LedgerBook,
  requireLiveIds,
  type StoreIdState,
  validateBlockRange,
  validateId,
  validateIds,
  validateWrite,
} from '@lethe/store/adapter-kit';
import type BetterSqlite3 from 'better-sqlite3';
import ndarray from 'ndarray';
import {
  corruptStoreError,
  ERASED_TABLE,
  HEAD_TABLE,
  LEDGER_TABLE,
  MANIFEST_TABLE,
  ROWS_TABLE,
  SQLITE_FORMAT_VERSION,
  translateSqliteError,
} from './schema.js';

/**
 * Points inside a commit, in order; the crash tests kill the process at each. Up to
 * 'rows-written' the transaction is open; from 'committed' on it is durable.
 */
export type CommitStep = 'rows-partial' | 'rows-written' | 'committed' | 'checkpointed';
export type CommitHook = (step: CommitStep) => void;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Rows per multi-row INSERT (3 parameters each; SQLite allows 32766). */
const UPSERT_BATCH = 64;

function prepareUpsert(db: BetterSqlite3.Database, rows: number) {
  return db.prepare<(number | Uint8Array)[]>(
    `INSERT INTO ${ROWS_TABLE} (id, crc32, row) VALUES ${Array(rows).fill('(?, ?, ?)').join(', ')}
     ON CONFLICT (id) DO UPDATE SET crc32 = excluded.crc32, row = excluded.row`,
  );
}

/** A row as SQLite hands it back: [id, crc32, row bytes]. */
type RawRow = [number, number, Uint8Array];

export interface SqliteStoreState {
  /** Live ids, ascending. */
  readonly ids: Int32Array;
  readonly erased: Iterable<number>;
  readonly ledger: LedgerBook;
  readonly head: Float32Array | undefined;
}

/** Head weights as stored (d float32, little-endian), read back. */
export function decodeWeights(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  decodeRows(bytes, 'float32', out, 0);
  return out;
}

export class SqliteStore implements ApproximatorStore {
  readonly #db: BetterSqlite3.Database;
  readonly #path: string;
  readonly #identity: StoreIdentity;
  readonly #rowBytes: number;
  readonly #hook: CommitHook | undefined;
  readonly #live: Set<number>;
  readonly #erased: Set<number>;
  readonly #ledger: LedgerBook;
  #head: Float32Array | undefined;
  #sortedIds: Int32Array | null;
  #closed = false;

  readonly #upsert: BetterSqlite3.Statement<(number | Uint8Array)[]>;
  readonly #upsertMany: BetterSqlite3.Statement<(number | Uint8Array)[]>;
  readonly #selectOne: BetterSqlite3.Statement<[number], RawRow>;
  readonly #selectMany: BetterSqlite3.Statement<[string], RawRow>;
  readonly #selectRange: BetterSqlite3.Statement<[number, number], RawRow>;
  readonly #deleteMany: BetterSqlite3.Statement<[string]>;
  readonly #insertErased: BetterSqlite3.Statement<[string]>;
  readonly #setRowCount: BetterSqlite3.Statement<[number]>;
  readonly #insertLedgerEntry: BetterSqlite3.Statement<[number, string]>;
  readonly #upsertHead: BetterSqlite3.Statement<[Uint8Array]>;

  constructor(
    db: BetterSqlite3.Database,
    path: string,
    identity: StoreIdentity,
    state: SqliteStoreState,
    hook?: CommitHook,
  ) {
    this.#db = db;
    this.#path = path;
    this.#identity = identity;
    this.#rowBytes = identity.d * bytesPerValue(identity.dtype);
    this.#hook = hook;
    this.#live = new Set(state.ids);
    this.#sortedIds = state.ids;
    this.#erased = new Set(state.erased);
    this.#ledger = state.ledger;
    this.#head = state.head;
    // Every statement is prepared once. Reads of many ids are one statement: the ids go in as
    // one JSON array, which json_each turns into a table SQLite looks up by primary key.
    this.#upsert = prepareUpsert(db, 1);
    this.#upsertMany = prepareUpsert(db, UPSERT_BATCH);
    this.#selectOne = db.prepare<[number], RawRow>(
      `SELECT id, crc32, row FROM ${ROWS_TABLE} WHERE id = ?`,
    );
    this.#selectOne.raw(true);
    this.#selectMany = db.prepare<[string], RawRow>(
      `SELECT id, crc32, row FROM ${ROWS_TABLE} WHERE id IN (SELECT value FROM json_each(?))`,
    );
    this.#selectMany.raw(true);
    this.#selectRange = db.prepare<[number, number], RawRow>(
      `SELECT id, crc32, row FROM ${ROWS_TABLE} WHERE id BETWEEN ? AND ? ORDER BY id`,
    );
    this.#selectRange.raw(true);
    this.#deleteMany = db.prepare(
      `DELETE FROM ${ROWS_TABLE} WHERE id IN (SELECT value FROM json_each(?))`,
    );
    this.#insertErased = db.prepare(
      `INSERT INTO ${ERASED_TABLE} (id) SELECT value FROM json_each(?)`,
    );
    this.#setRowCount = db.prepare(`UPDATE ${MANIFEST_TABLE} SET row_count = ?`);
    this.#insertLedgerEntry = db.prepare(
      `INSERT INTO ${LEDGER_TABLE} (request, entry) VALUES (?, ?)`,
    );
    this.#upsertHead = db.prepare(
      `INSERT INTO ${HEAD_TABLE} (singleton, weights) VALUES (1, ?)
       ON CONFLICT (singleton) DO UPDATE SET weights = excluded.weights`,
    );
  }

  get manifest(): StoreManifest {
    return Object.freeze({
      ...this.#identity,
      rowCount: this.#live.size,
      formatVersion: SQLITE_FORMAT_VERSION,
    });
  }

  async writeRows(ids: ArrayLike<number>, rows: Float32Array): Promise<void> {
    this.#assertOpen('writeRows');
    const { dtype } = this.#identity;
    const idList = validateWrite(ids, rows, this.#identity, (id) => this.#erased.has(id));
    if (idList.length === 0) return;
    // better-sqlite3 is synchronous, so the caller cannot change `rows` while it is bound:
    // float32 rows on a little-endian machine are bound straight from its buffer.
    const bytes =
      dtype === 'float32' && LITTLE_ENDIAN
        ? new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength)
        : encodeRows(rows, dtype);
    let added = 0;
    for (const id of idList) if (!this.#live.has(id)) added++;
    const rowBytes = this.#rowBytes;
    const hook = this.#hook;
    const half = idList.length >>> 1;
    this.#run('writeRows', () => {
      // One transaction: SQLite's WAL makes it all or nothing, crash included.
      this.#db.transaction(() => {
        // Rows go in UPSERT_BATCH at a time: one statement per row costs more than the row.
        const params: (number | Uint8Array)[] = [];
        for (let i = 0; i < idList.length; i++) {
          if (i === half) hook?.('rows-partial');
          const row = bytes.subarray(i * rowBytes, (i + 1) * rowBytes);
          params.push(idList[i]!, crc32(row), row);
          if (params.length === 3 * UPSERT_BATCH) {
            this.#upsertMany.run(...params);
            params.length = 0;
          }
        }
        for (let k = 0; k < params.length; k += 3) this.#upsert.run(...params.slice(k, k + 3));
        this.#setRowCount.run(this.#live.size + added);
        hook?.('rows-written');
      })();
    });
    hook?.('committed');
    for (const id of idList) this.#live.add(id);
    if (added > 0) this.#sortedIds = null;
  }

  async readRows(ids: ArrayLike<number>): Promise<Float32Array> {
    this.#assertOpen('readRows');
    const idList = validateIds('readRows', ids);
    requireLiveIds('readRows', idList, (id) => this.#stateOf(id));
    const d = this.#identity.d;
    const out = new Float32Array(idList.length * d);
    if (idList.length === 0) return out;
    if (idList.length === 1) {
      const found = this.#run('readRows', () => this.#selectOne.get(idList[0]!));
      this.#decodeInto(found === undefined ? [] : [found], idList, out, 'readRows');
      return out;
    }
    const found = this.#run('readRows', () =>
      this.#selectMany.all(JSON.stringify(Array.from(idList))),
    );
    this.#decodeInto(found, idList, out, 'readRows');
    return out;
  }

  async readBlock(start: number, count: number): Promise<RowBlock> {
    this.#assertOpen('readBlock');
    validateBlockRange(start, count, this.#live.size);
    const d = this.#identity.d;
    const out = new Float32Array(count * d);
    if (count > 0) {
      // The block's ids are consecutive among the live ids, so one range scan of the primary
      // key returns exactly its rows, in order.
      const ids = this.#liveIds().subarray(start, start + count);
      const found = this.#run('readBlock', () => this.#selectRange.all(ids[0]!, ids[count - 1]!));
      this.#decodeInto(found, ids, out, 'readBlock');
    }
    return ndarray(out, [count, d]);
  }

  async erase(ids: ArrayLike<number>): Promise<void> {
    this.#assertOpen('erase');
    const idList = validateIds('erase', ids);
    requireLiveIds('erase', idList, (id) => this.#stateOf(id));
    if (idList.length === 0) return;
    const hook = this.#hook;
    this.#run('erase', () => {
      this.#db.transaction(() => {
        this.#deleteRows('erase', idList);
        hook?.('rows-written');
      })();
    });
    hook?.('committed');
    this.#markErased(idList);
    // The write-ahead log may still hold copies of the erased rows' pages (from when they were
    // written). A TRUNCATE checkpoint copies the zeroed pages into the database file and empties
    // the log. Opening a store does the same, in case a crash came between commit and here.
    this.#run('erase (checkpoint)', () => checkpoint(this.#db, this.#path));
    hook?.('checkpointed');
  }

  async commitDeletion(commit: DeletionCommit): Promise<DeletionEntry> {
    this.#assertOpen('commitDeletion');
    const { entry, erase } = this.#ledger.prepare(commit, this.#identity.d);
    requireLiveIds('commitDeletion', erase, (id) => this.#stateOf(id));
    const weights = Float32Array.from(commit.weights);
    const hook = this.#hook;
    this.#run('commitDeletion', () => {
      // One transaction: the rows' erasure, the ledger entry and the head weights land together.
      this.#db.transaction(() => {
        if (erase.length > 0) this.#deleteRows('commitDeletion', erase);
        this.#insertLedgerEntry.run(entry.request, JSON.stringify(entry));
        this.#upsertHead.run(encodeRows(weights, 'float32'));
        hook?.('rows-written');
      })();
    });
    hook?.('committed');
    this.#markErased(erase);
    this.#ledger.append(entry);
    this.#head = weights;
    // As in erase: the log may hold the erased rows' pages and the old head weights.
    try {
      this.#run('commitDeletion (checkpoint)', () => checkpoint(this.#db, this.#path));
    } catch (error) {
      throw new StoreError(
        'io',
        `commitDeletion: the deletion is committed (ledger entry ${entry.request}; deletions() lists it), but checkpointing ${this.#path} failed (${(error as Error).message}); the write-ahead log keeps old pages until the store is opened again, which checkpoints it.`,
        { cause: error },
      );
    }
    hook?.('checkpointed');
    return entry;
  }

  /**
   * Inside a transaction: deletes live rows (secure_delete is on, so SQLite overwrites the
   * deleted cells and freed pages with zeros), records their ids as erased, updates the count.
   */
  #deleteRows(op: string, ids: Int32Array): void {
    const json = JSON.stringify(Array.from(ids));
    const { changes } = this.#deleteMany.run(json);
    if (changes !== ids.length) {
      throw corruptStoreError(
        this.#path,
        `${op} found ${changes} of the ${ids.length} rows it was asked to delete in ${ROWS_TABLE}, though all are live`,
      );
    }
    this.#insertErased.run(json);
    this.#setRowCount.run(this.#live.size - ids.length);
  }

  /** After the commit: the in-memory view of which ids are live and which erased. */
  #markErased(ids: Int32Array): void {
    for (const id of ids) {
      this.#live.delete(id);
      this.#erased.add(id);
    }
    this.#sortedIds = null;
  }

  async deletions(): Promise<readonly DeletionEntry[]> {
    this.#assertOpen('deletions');
    return [...this.#ledger.entries];
  }

  async headWeights(): Promise<Float32Array | undefined> {
    this.#assertOpen('headWeights');
    return this.#head?.slice();
  }

  async has(id: number): Promise<boolean> {
    this.#assertOpen('has');
    validateId('has', id);
    return this.#live.has(id);
  }

  async liveIds(): Promise<Int32Array> {
    this.#assertOpen('liveIds');
    return this.#liveIds().slice();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Closing the last connection checkpoints the log and deletes it, leaving one file.
    this.#run('close', () => this.#db.close());
  }

  /**
   * Decodes rows SQLite returned for `ids` into `out`, in the order of `ids`, checking that each
   * id came back once with a row of the right length and CRC-32.
   */
  #decodeInto(found: RawRow[], ids: Int32Array, out: Float32Array, op: string): void {
    const { d, dtype } = this.#identity;
    const rowBytes = this.#rowBytes;
    // The range scan returns rows in the order of ids; a look-up by many ids in any order.
    const inOrder = found.length === ids.length && found.every(([id], i) => id === ids[i]);
    const position = inOrder ? undefined : new Map(Array.from(ids, (id, i) => [id, i]));
    if (found.length !== ids.length) {
      const present = new Set(found.map(([id]) => id));
      const missing = ids.find((id) => !present.has(id));
      throw corruptStoreError(
        this.#path,
        `${op}: id ${missing} is live (listed when the store was opened or written since) but its row is missing from ${ROWS_TABLE}`,
      );
    }
    for (let k = 0; k < found.length; k++) {
      const [id, storedCrc, row] = found[k]!;
      const i = position === undefined ? k : position.get(id);
      if (i === undefined) {
        throw corruptStoreError(
          this.#path,
          `${op}: SQLite returned id ${id}, which was not asked for`,
        );
      }
      checkStoredRow(this.#path, id, storedCrc, row, rowBytes, d, dtype);
      decodeRows(row, dtype, out, i * d);
    }
  }

  #stateOf(id: number): StoreIdState {
    if (this.#live.has(id)) return 'live';
    return this.#erased.has(id) ? 'erased' : 'unknown';
  }

  #liveIds(): Int32Array {
    this.#sortedIds ??= Int32Array.from(this.#live).sort();
    return this.#sortedIds;
  }

  #run<T>(doing: string, body: () => T): T {
    try {
      return body();
    } catch (error) {
      throw translateSqliteError(this.#path, doing, error);
    }
  }

  #assertOpen(op: string): void {
    if (this.#closed) {
      throw new StoreError(
        'closed',
        `${op}: the store is closed; open it again with openSqliteStore`,
      );
    }
  }
}

/** Rejects a stored row whose length or CRC-32 is wrong: its bytes were changed at rest. */
export function checkStoredRow(
  path: string,
  id: number,
  storedCrc: number,
  row: unknown,
  rowBytes: number,
  d: number,
  dtype: string,
): void {
  if (!(row instanceof Uint8Array) || row.length !== rowBytes) {
    const got = row instanceof Uint8Array ? `${row.length} bytes` : `a ${typeof row}`;
    throw corruptStoreError(
      path,
      `the row of id ${id} in ${ROWS_TABLE} is ${got}, but d = ${d} ${dtype} values take ${rowBytes} bytes`,
    );
  }
  const actual = crc32(row);
  if (actual !== storedCrc) {
    throw corruptStoreError(
      path,
      `the row of id ${id} in ${ROWS_TABLE} has CRC-32 ${actual}, but ${storedCrc} was stored with it (checksum mismatch: the bytes were changed)`,
    );
  }
}

/**
 * Copies every page of the write-ahead log into the database file and truncates the log to zero
 * bytes, so that no copy of an erased row's old pages stays in it.
 */
export function checkpoint(db: BetterSqlite3.Database, path: string): void {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as {
    busy: number;
    log: number;
    checkpointed: number;
  }[];
  if (result !== undefined && result.busy !== 0) {
    throw new StoreError(
      'locked',
      `Approximator store ${path}: the write-ahead log could not be checkpointed because another connection is reading it; close other connections to the database.`,
    );
  }
}
