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
import ndarray from 'ndarray';
import type { Query, SqlDriver } from './driver.js';
import {
  corruptStoreError,
  POSTGRES_FORMAT_VERSION,
  tablesOf,
  translatePostgresError,
} from './schema.js';

/**
 * Points inside a commit, in order; the crash tests kill the process at each. Up to
 * 'rows-written' the transaction is open; from 'committed' on it is durable; 'scrubbed' comes
 * after an erasure's VACUUM (and WAL switch).
 */
export type CommitStep = 'rows-partial' | 'rows-written' | 'committed' | 'scrubbed';
export type CommitHook = (step: CommitStep) => void;

/** How erased rows' dead tuples are cleared after the commit that deleted them. */
export type ErasureMode = 'rewrite' | 'vacuum';

/** Rows per multi-row INSERT (3 parameters each; Postgres allows 65535 parameters). */
const INSERT_BATCH = 500;

/** A row as Postgres hands it back. */
interface StoredRow {
  id: number;
  crc32: number;
  row: Uint8Array;
}

export interface PostgresStoreState {
  /** Live ids, ascending. */
  readonly ids: Int32Array;
  readonly erased: Iterable<number>;
  readonly ledger: LedgerBook;
  readonly head: Float32Array | undefined;
}

export interface PostgresStoreConfig {
  readonly driver: SqlDriver;
  readonly schema: string;
  readonly identity: StoreIdentity;
  readonly erasure: ErasureMode;
  readonly scrubWal: boolean;
  /**
   * 0: the scrub runs in the erasing call, after its commit. More: it runs this many
   * milliseconds after the first erasure not yet scrubbed, once for every erasure committed
   * meanwhile (a rewrite's cost is the table's size, not the erasure's).
   */
  readonly scrubDelayMs: number;
  /** Releases what the opener holds besides the driver (a data directory's lock file). */
  readonly release: () => Promise<void>;
  readonly hook?: CommitHook | undefined;
}

/** The CRC-32 of a row's bytes as Postgres' signed integer stores it. */
export function rowCrc(bytes: Uint8Array): number {
  return crc32(bytes) | 0;
}

/** Head weights as stored: d float32, little-endian. */
export function encodeWeights(weights: Float32Array): Uint8Array {
  const bytes = new Uint8Array(weights.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < weights.length; i++) view.setFloat32(4 * i, weights[i]!, true);
  return bytes;
}

export function decodeWeights(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/** An int[] parameter as Postgres' array literal (both drivers send it as text). */
export function intArray(ids: ArrayLike<number>): string {
  return `{${Array.from(ids).join(',')}}`;
}

/**
 * Clears what an erasure left: the erased rows' dead tuples (VACUUM FULL rewrites the rows and
 * head tables into new files; plain VACUUM only marks the space free), then, with `scrubWal`,
 * a checkpoint, a switch to a new WAL segment and a second checkpoint, which removes the
 * segments that still hold the rows as they were written. Then clears scrub_pending.
 */
export async function scrub(
  query: Query,
  schema: string,
  erasure: ErasureMode,
  scrubWal: boolean,
): Promise<void> {
  const t = tablesOf(schema);
  await query(`VACUUM ${erasure === 'rewrite' ? 'FULL ' : ''}${t.rows}, ${t.head}`);
  if (scrubWal) {
    await query('CHECKPOINT');
    await query('SELECT pg_switch_wal()');
    await query('CHECKPOINT');
  }
  await query(`UPDATE ${t.manifest} SET scrub_pending = false`);
}

export class PostgresStore implements ApproximatorStore {
  readonly #driver: SqlDriver;
  readonly #config: PostgresStoreConfig;
  readonly #where: string;
  readonly #t: ReturnType<typeof tablesOf>;
  readonly #identity: StoreIdentity;
  readonly #rowBytes: number;
  readonly #hook: CommitHook | undefined;
  readonly #live: Set<number>;
  readonly #erased: Set<number>;
  readonly #ledger: LedgerBook;
  #head: Float32Array | undefined;
  #sortedIds: Int32Array | null;
  #closed = false;
  /** The deferred scrub's timer, while an erasure waits for it. */
  #scrubTimer: NodeJS.Timeout | undefined;
  /** Calls run one at a time, in call order: a transaction never interleaves with another. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(config: PostgresStoreConfig, state: PostgresStoreState) {
    this.#config = config;
    this.#driver = config.driver;
    this.#where = `${config.driver.where} (schema ${config.schema})`;
    this.#t = tablesOf(config.schema);
    this.#identity = config.identity;
    this.#rowBytes = config.identity.d * bytesPerValue(config.identity.dtype);
    this.#hook = config.hook;
    this.#live = new Set(state.ids);
    this.#sortedIds = state.ids;
    this.#erased = new Set(state.erased);
    this.#ledger = state.ledger;
    this.#head = state.head;
  }

  get manifest(): StoreManifest {
    return Object.freeze({
      ...this.#identity,
      rowCount: this.#live.size,
      formatVersion: POSTGRES_FORMAT_VERSION,
    });
  }

  writeRows(ids: ArrayLike<number>, rows: Float32Array): Promise<void> {
    return this.#serial('writeRows', async () => {
      const { dtype } = this.#identity;
      const idList = validateWrite(ids, rows, this.#identity, (id) => this.#erased.has(id));
      if (idList.length === 0) return;
      // A copy, encoded now: the caller may change `rows` while the statements run.
      const bytes = encodeRows(rows, dtype);
      let added = 0;
      for (const id of idList) if (!this.#live.has(id)) added++;
      const rowBytes = this.#rowBytes;
      const hook = this.#hook;
      const half = idList.length >>> 1;
      const t = this.#t;
      await this.#run('writeRows', () =>
        this.#driver.transaction(async (query) => {
          for (let start = 0; start < idList.length; start += INSERT_BATCH) {
            const end = Math.min(idList.length, start + INSERT_BATCH);
            const params: unknown[] = [];
            const values: string[] = [];
            for (let i = start; i < end; i++) {
              const row = bytes.subarray(i * rowBytes, (i + 1) * rowBytes);
              const k = params.length;
              values.push(`($${k + 1}::integer, $${k + 2}::integer, $${k + 3}::bytea)`);
              params.push(idList[i]!, rowCrc(row), row);
            }
            await query(
              `INSERT INTO ${t.rows} (id, crc32, row) VALUES ${values.join(', ')}
               ON CONFLICT (id) DO UPDATE SET crc32 = excluded.crc32, row = excluded.row`,
              params,
            );
            // Half of the rows are in the open transaction (a write of several batches).
            if (end >= half && end - INSERT_BATCH < half && end < idList.length) {
              hook?.('rows-partial');
            }
          }
          await query(`UPDATE ${t.manifest} SET row_count = $1`, [this.#live.size + added]);
          hook?.('rows-written');
        }),
      );
      hook?.('committed');
      for (const id of idList) this.#live.add(id);
      if (added > 0) this.#sortedIds = null;
    });
  }

  readRows(ids: ArrayLike<number>): Promise<Float32Array> {
    return this.#serial('readRows', async () => {
      const idList = validateIds('readRows', ids);
      requireLiveIds('readRows', idList, (id) => this.#stateOf(id));
      const d = this.#identity.d;
      const out = new Float32Array(idList.length * d);
      if (idList.length === 0) return out;
      const found = await this.#run('readRows', () =>
        this.#driver.query<StoredRow>(
          `SELECT id, crc32, row FROM ${this.#t.rows} WHERE id = ANY($1::integer[])`,
          [intArray(idList)],
        ),
      );
      this.#decodeInto(found, idList, out, 'readRows');
      return out;
    });
  }

  readBlock(start: number, count: number): Promise<RowBlock> {
    return this.#serial('readBlock', async () => {
      validateBlockRange(start, count, this.#live.size);
      const d = this.#identity.d;
      const out = new Float32Array(count * d);
      if (count > 0) {
        // The block's ids are consecutive among the live ids, so one range scan of the primary
        // key returns exactly its rows, in order.
        const ids = this.#liveIds().subarray(start, start + count);
        const found = await this.#run('readBlock', () =>
          this.#driver.query<StoredRow>(
            `SELECT id, crc32, row FROM ${this.#t.rows} WHERE id BETWEEN $1 AND $2 ORDER BY id`,
            [ids[0]!, ids[count - 1]!],
          ),
        );
        this.#decodeInto(found, ids, out, 'readBlock');
      }
      return ndarray(out, [count, d]);
    });
  }

  erase(ids: ArrayLike<number>): Promise<void> {
    return this.#serial('erase', async () => {
      const idList = validateIds('erase', ids);
      requireLiveIds('erase', idList, (id) => this.#stateOf(id));
      if (idList.length === 0) return;
      const hook = this.#hook;
      await this.#run('erase', () =>
        this.#driver.transaction(async (query) => {
          await this.#deleteRows(query, idList, 'erase');
          hook?.('rows-written');
        }),
      );
      hook?.('committed');
      this.#forget(idList);
      await this.#scrubAfter('erase', undefined);
    });
  }

  commitDeletion(commit: DeletionCommit): Promise<DeletionEntry> {
    return this.#serial('commitDeletion', async () => {
      const { entry, erase } = this.#ledger.prepare(commit, this.#identity.d);
      requireLiveIds('commitDeletion', erase, (id) => this.#stateOf(id));
      const weights = Float32Array.from(commit.weights);
      const hook = this.#hook;
      const t = this.#t;
      await this.#run('commitDeletion', () =>
        // One transaction: the rows' erasure, the ledger entry and the head weights land together.
        this.#driver.transaction(async (query) => {
          if (erase.length > 0) await this.#deleteRows(query, erase, 'commitDeletion');
          // The old head weights become a dead tuple to scrub, like an erased row.
          await query(`UPDATE ${t.manifest} SET scrub_pending = true`);
          await query(`INSERT INTO ${t.ledger} (request, entry) VALUES ($1, $2)`, [
            entry.request,
            JSON.stringify(entry),
          ]);
          await query(
            `INSERT INTO ${t.head} (singleton, weights) VALUES (true, $1::bytea)
             ON CONFLICT (singleton) DO UPDATE SET weights = excluded.weights`,
            [encodeWeights(weights)],
          );
          hook?.('rows-written');
        }),
      );
      hook?.('committed');
      this.#forget(erase);
      this.#ledger.append(entry);
      this.#head = weights;
      await this.#scrubAfter('commitDeletion', entry);
      return entry;
    });
  }

  deletions(): Promise<readonly DeletionEntry[]> {
    return this.#serial('deletions', async () => [...this.#ledger.entries]);
  }

  headWeights(): Promise<Float32Array | undefined> {
    return this.#serial('headWeights', async () => this.#head?.slice());
  }

  has(id: number): Promise<boolean> {
    return this.#serial('has', async () => {
      validateId('has', id);
      return this.#live.has(id);
    });
  }

  liveIds(): Promise<Int32Array> {
    return this.#serial('liveIds', async () => this.#liveIds().slice());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // After the calls already queued.
    await this.#queue.catch(() => undefined);
    if (this.#scrubTimer !== undefined) {
      clearTimeout(this.#scrubTimer);
      this.#scrubTimer = undefined;
      // Still marked scrub_pending if this fails: the next open retries.
      await this.#scrubNow('close', undefined).catch(() => undefined);
    }
    try {
      await this.#driver.query('SELECT pg_advisory_unlock_all()');
    } catch {
      // The session is gone, and its lock with it.
    }
    try {
      await this.#run('close', () => this.#driver.close());
    } finally {
      await this.#config.release();
    }
  }

  /** Deletes live rows, records them as erased and marks the store for a scrub. */
  async #deleteRows(query: Query, ids: Int32Array, op: string): Promise<void> {
    const t = this.#t;
    const list = intArray(ids);
    const deleted = await query<{ id: number }>(
      `DELETE FROM ${t.rows} WHERE id = ANY($1::integer[]) RETURNING id`,
      [list],
    );
    if (deleted.length !== ids.length) {
      throw corruptStoreError(
        this.#where,
        `${op} found ${deleted.length} of the ${ids.length} rows it was asked to delete in ${t.rows}, though all are live`,
      );
    }
    await query(`INSERT INTO ${t.erased} (id) SELECT unnest($1::integer[])`, [list]);
    await query(`UPDATE ${t.manifest} SET row_count = $1, scrub_pending = true`, [
      this.#live.size - ids.length,
    ]);
  }

  #forget(ids: Int32Array): void {
    for (const id of ids) {
      this.#live.delete(id);
      this.#erased.add(id);
    }
    this.#sortedIds = null;
  }

  /**
   * Runs a deferred scrub now, if one is waiting (`scrubDelayMs`): every erasure committed so far
   * is then cleared from the data files. Resolves at once when nothing waits.
   */
  scrubPending(): Promise<void> {
    return this.#serial('scrubPending', async () => {
      if (this.#scrubTimer === undefined) return;
      clearTimeout(this.#scrubTimer);
      this.#scrubTimer = undefined;
      await this.#scrubNow('scrubPending', undefined);
    });
  }

  /** The scrub after a committed erasure: now, or deferred and shared with later erasures. */
  async #scrubAfter(op: string, entry: DeletionEntry | undefined): Promise<void> {
    const delay = this.#config.scrubDelayMs;
    if (delay === 0) {
      await this.#scrubNow(op, entry);
      return;
    }
    if (this.#scrubTimer !== undefined) return;
    this.#scrubTimer = setTimeout(() => {
      // A failure leaves scrub_pending set: the next erasure's scrub, close or open retries.
      this.scrubPending().catch(() => undefined);
    }, delay);
    // A process may exit with a scrub waiting; the next open runs it (scrub_pending).
    this.#scrubTimer.unref();
  }

  /** The scrub itself; a failure says that the commit stands. */
  async #scrubNow(op: string, entry: DeletionEntry | undefined): Promise<void> {
    const { schema, erasure, scrubWal } = this.#config;
    try {
      await scrub(this.#driver.query, schema, erasure, scrubWal);
    } catch (error) {
      const what =
        entry === undefined
          ? 'the rows are deleted'
          : `the deletion is committed (ledger entry ${entry.request}; deletions() lists it)`;
      throw new StoreError(
        'io',
        `${op}: ${what}, but clearing their dead tuples failed (${(translatePostgresError(this.#where, 'VACUUM', error) as Error).message}); the store is marked for a scrub, which the next open retries.`,
        { cause: error },
      );
    }
    this.#hook?.('scrubbed');
  }

  /**
   * Decodes rows Postgres returned for `ids` into `out`, in the order of `ids`, checking that
   * each id came back once with a row of the right length and CRC-32.
   */
  #decodeInto(found: StoredRow[], ids: Int32Array, out: Float32Array, op: string): void {
    const { d, dtype } = this.#identity;
    if (found.length !== ids.length) {
      const present = new Set(found.map(({ id }) => id));
      const missing = ids.find((id) => !present.has(id));
      throw corruptStoreError(
        this.#where,
        `${op}: id ${missing} is live (listed when the store was opened or written since) but its row is missing from ${this.#t.rows}`,
      );
    }
    const inOrder = found.every(({ id }, i) => id === ids[i]);
    const position = inOrder ? undefined : new Map(Array.from(ids, (id, i) => [id, i]));
    for (let k = 0; k < found.length; k++) {
      const { id, crc32: storedCrc, row } = found[k]!;
      const i = position === undefined ? k : position.get(id);
      if (i === undefined) {
        throw corruptStoreError(
          this.#where,
          `${op}: Postgres returned id ${id}, which was not asked for`,
        );
      }
      checkStoredRow(this.#where, this.#t.rows, id, storedCrc, row, this.#rowBytes, d, dtype);
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

  async #run<T>(doing: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw translatePostgresError(this.#where, doing, error);
    }
  }

  #serial<T>(op: string, body: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new StoreError(
          'closed',
          `${op}: the store is closed; open it again with openPostgresStore`,
        ),
      );
    }
    const result = this.#queue.then(body, body);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

/** Rejects a stored row whose length or CRC-32 is wrong: its bytes were changed at rest. */
export function checkStoredRow(
  where: string,
  table: string,
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
      where,
      `the row of id ${id} in ${table} is ${got}, but d = ${d} ${dtype} values take ${rowBytes} bytes`,
    );
  }
  const actual = rowCrc(row);
  if (actual !== storedCrc) {
    throw corruptStoreError(
      where,
      `the row of id ${id} in ${table} has CRC-32 ${actual >>> 0}, but ${storedCrc >>> 0} was stored with it (checksum mismatch: the bytes were changed)`,
    );
  }
}
