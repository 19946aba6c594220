export interface KernelTask {
  readonly backend: string;
  readonly model: string;
  readonly batch: number;
  readonly k: number;
  /** Minimum timed repetitions of the batched product. */
  readonly reps: number;
  /** Single-vector products to time (0: skip). */
  readonly singles: number;
  readonly matmul: boolean;
  /** Barrier shared by workers measured together: they start timing at the same moment. */
  readonly barrier: SharedArrayBuffer;
  readonly parties: number;
  readonly seed: number;
}

export interface KernelMeasurement {
  readonly backend: string;
  readonly d: number;
  readonly flopsPerVector: number;
  /** Median milliseconds of one batched product of k vectors. */
  readonly batchedMs: number;
  readonly singleMs: number | null;
  readonly matmulGflops: number | null;
}
