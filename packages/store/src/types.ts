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
 * A privacy cost spent publishing a deletion's weights, in the shape @lethe/certify's
 * accountant records (`accountant.record(entry.release)` rebuilds the accountant on restart).
 */
export interface LedgerRelease {
  readonly mode: 'online' | 'batch';
  readonly requestIds: readonly string[];
  readonly sigma: number;
  readonly sensitivity: number;
  readonly epsilon: number;
  readonly delta: number;
}

/** One committed deletion in a store's ledger. */
export interface DeletionEntry {
  /** Position in the ledger: 0, 1, 2, ... in commit order. */
  readonly request: number;
  /** The caller's name for the request (a service's request id); unique in the ledger. */
  readonly requestId: string;
  /**
   * The samples this deletion forgot; empty for a change of the weights that forgets nothing
   * new (a second-order refinement of earlier deletions).
   */
  readonly ids: readonly number[];
  /** How the engine applied it ('online', 'batch', 'second-order refinement', ...). */
  readonly mode: string;
  /**
   * SHA-256 (hex) of the weights before and after, as float32 little-endian bytes: consecutive
   * entries chain, so a ledger shows every weight change from the weights it started on.
   */
  readonly weightsBeforeSha256: string;
  readonly weightsSha256: string;
  /** The privacy spent publishing the weights after this deletion, when they were published. */
  readonly release?: LedgerRelease;
  /** ISO 8601 time of the commit. */
  readonly committedAt: string;
}

/** What one atomic deletion commit writes. */
export interface DeletionCommit {
  /**
   * The ledger position this commit expects to take (the ledger's current length): a commit
   * prepared against an older ledger is refused ('ledger-conflict') instead of forking it.
   */
  readonly request: number;
  readonly requestId: string;
  readonly ids: readonly number[];
  readonly mode: string;
  /** The weights after the deletion: they become the store's head weights. */
  readonly weights: Float32Array;
  /** SHA-256 of the weights the deletion was applied to (the previous head, if any). */
  readonly weightsBeforeSha256: string;
  /**
   * Rows to erase in the same commit (the forgotten samples' approximators). Empty when the
   * store keeps no rows for them (a ledger beside a lazy source).
   */
  readonly erase: ArrayLike<number>;
  readonly release?: LedgerRelease;
}

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
  /**
   * The deletion ledger's write: erases `commit.erase`, appends a DeletionEntry and replaces the
   * head weights, all in one atomic commit. After a crash the store holds either all of it or
   * none of it. Refused, with nothing changed, when `commit.request` is not the ledger's length
   * ('ledger-conflict'), the requestId is already in the ledger ('duplicate-request'), an id
   * was forgotten by an earlier entry ('already-forgotten'), or a row to erase is not live.
   * When the commit is durable but a later clean-up (scrubbing old files, a checkpoint) fails,
   * it rejects with an 'io' error whose message says the deletion was committed: deletions()
   * then includes it.
   */
  commitDeletion(commit: DeletionCommit): Promise<DeletionEntry>;
  /** The ledger, oldest first. */
  deletions(): Promise<readonly DeletionEntry[]>;
  /** The weights after the last committed deletion (a copy), or undefined before the first. */
  headWeights(): Promise<Float32Array | undefined>;
  has(id: number): Promise<boolean>;
  /** Live ids, ascending. */
  liveIds(): Promise<Int32Array>;
  /** Releases the store; later calls reject. Closing twice is harmless. */
  close(): Promise<void>;
}
