/**
 * The data of one pg-boss job: a slice of one recollection's samples, made of one or more of the
 * recursion's blocks (consecutive, so the rows equal an in-process run's bit for bit).
 */
export interface BlockJob {
  /** Content key of the run (trajectory, data, model recipe) in lethe_queue_runs. */
  readonly run: string;
  /** One recollect call: its blocks' rows are keyed by it. */
  readonly call: string;
  /** The job's index within the call (its rows' key in lethe_queue_blocks). */
  readonly block: number;
  readonly ids: number[];
  /** Rows per Hessian-matrix product: the recursion's block size (ids may hold several). */
  readonly blockSize: number;
  readonly codeDigest: string;
  readonly modelDigest: string;
  readonly trajectoryDigest: string;
  readonly dataDigest: string;
}
