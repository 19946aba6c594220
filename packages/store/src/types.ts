import type { NdArray } from 'ndarray';

/** How rows are kept at rest. Rows are always handed in and out as float32. */
export type StoreDType = 'float32' | 'float16';

/** What a store belongs to: the fields that must match before its rows may be used. */
export interface StoreIdentity {
  readonly modelDigest: string;
  readonly layoutDigest: string;
  /** Length of every row: the model's flat parameter count. */
  readonly d: number;
  readonly dtype: StoreDType;
  readonly trajectoryDigest: string;
}

export interface StoreManifest extends StoreIdentity {
  /** Number of live (written and not erased) rows. */
  readonly rowCount: number;
  readonly formatVersion: number;
}

/**
 * A block of consecutive rows as an ndarray of shape [count, d]: ndarray is the interchange type
 * for blocks of approximators between a store and the engine. It is a strided view, so the
 * engine reads a row (`block.pick(i, null)`), one parameter across all rows
 * (`block.pick(null, j)`) or a sub-block (`block.hi(...).lo(...)`) without copying; a store
 * hands out a plain row-major one (strides [d, 1], offset 0) over its own copy of the rows,
 * `block.data`.
 */
export type RowBlock = NdArray<Float32Array>;

/**
 * Rows of d numbers keyed by sample id. Every method validates its whole input before it changes
 * anything, so a rejected call leaves the store as it was.
 */
export interface ApproximatorStore {
  /** A snapshot of the current manifest. */
  readonly manifest: StoreManifest;
  /**
   * Writes (or overwrites) one row per id; `rows` is ids.length * d values, row-major.
   * All or nothing. Erased ids cannot be written again.
   */
  writeRows(ids: ArrayLike<number>, rows: Float32Array): Promise<void>;
  /** Rows of the given ids, in the order given, as one row-major copy. */
  readRows(ids: ArrayLike<number>): Promise<Float32Array>;
  /**
   * Rows start..start+count-1 of the live ids sorted ascending, as a [count, d] RowBlock (a copy).
   * For the engine's hot path: it walks the store block by block (a contiguous range of rows,
   * which adapters read in one pass) and works on each block through strided access, rather
   * than asking readRows for ids one list at a time.
   */
  readBlock(start: number, count: number): Promise<RowBlock>;
  /** Removes rows so that their bytes are gone from the storage, not just flagged. */
  erase(ids: ArrayLike<number>): Promise<void>;
  has(id: number): Promise<boolean>;
  /** Live ids, ascending. */
  liveIds(): Promise<Int32Array>;
  /** Releases the store; later calls reject. Closing twice is harmless. */
  close(): Promise<void>;
}
