/** The data of one pg-boss job: one block of one recollection. */
export interface BlockJob {
  /** Content key of the run (trajectory, data, model recipe) in lethe_queue_runs. */
  readonly run: string;
  /** One recollect call: its blocks' rows are keyed by it. */
  readonly call: string;
  readonly block: number;
  readonly ids: number[];
  readonly codeDigest: string;
  readonly modelDigest: string;
  readonly trajectoryDigest: string;
  readonly dataDigest: string;
}
