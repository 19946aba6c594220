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

/** A block of rows as a strided [count, d] view. */
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
  /** Rows start..start+count-1 of the live ids sorted ascending, as a [count, d] copy. */
  readBlock(start: number, count: number): Promise<RowBlock>;
  /** Removes rows so that their bytes are gone from the storage, not just flagged. */
  erase(ids: ArrayLike<number>): Promise<void>;
  has(id: number): Promise<boolean>;
  /** Live ids, ascending. */
  liveIds(): Promise<Int32Array>;
  /** Releases the store; later calls reject. Closing twice is harmless. */
  close(): Promise<void>;
}
