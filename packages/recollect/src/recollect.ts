import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { backendInfo, type Model, recipeOf } from '@lethe/autodiff';
import { LetheError, validateSampleIds } from '@lethe/core';
import { type ApproximatorStore, assertManifestMatches } from '@lethe/store';
import { DataTensors, type TrainingData, validateData } from './data.js';
import { computeApproximators } from './recursion.js';
import {
  assertDataMatches,
  assertTrajectoryMatches,
  storeIdentity,
  type Trajectory,
} from './trajectory.js';
import type { WorkerMessage, WorkerTask } from './worker-protocol.js';

export interface RecollectProgress {
  /** Fraction of the work done, in [0, 1]. */
  readonly fraction: number;
  readonly elapsedSeconds: number;
  /** Estimated seconds left, from the rate so far. */
  readonly etaSeconds: number;
}

export interface RecollectOptions {
  readonly model: Model;
  readonly data: TrainingData;
  readonly trajectory: Trajectory;
  /** Samples to compute approximators for (default: all n). */
  readonly ids?: ArrayLike<number>;
  /** Starting vectors (ids.length x d) to extend instead of zeros (used by repair). */
  readonly initial?: Float32Array;
  /** Where to write the rows; without one they are only returned. */
  readonly store?: ApproximatorStore;
  /** Worker threads (default: min(2, cores)); 1 runs in this thread. */
  readonly workers?: number;
  /** Rows per Hessian-matrix product (default 256, fewer for large models). */
  readonly blockSize?: number;
  /** Modules each worker imports before building the model (to register custom models). */
  readonly setupModules?: readonly string[];
  /**
   * Where the blocks run instead of this process's worker threads, e.g. a job queue whose
   * workers run on other machines (`@lethe/queue-pgboss`). Each block of `blockSize` rows is
   * computed exactly as in one thread, so the rows are the same bit for bit as `workers: 1`.
   */
  readonly executor?: RecollectExecutor;
  readonly onProgress?: (progress: RecollectProgress) => void;
}

/** One recollection, cut into blocks of rows, handed to an executor. */
export interface RecollectWork {
  readonly model: Model;
  readonly data: TrainingData;
  readonly trajectory: Trajectory;
  readonly ids: Int32Array;
  readonly initial?: Float32Array;
  /** ids cut into contiguous blocks of blockSize rows (the last may be shorter). */
  readonly blocks: readonly Int32Array[];
  readonly blockSize: number;
  readonly setupModules: readonly string[];
  /** Report the fraction of the work done, in [0, 1]. */
  readonly report: (fraction: number) => void;
}

/** Runs the blocks of a recollection somewhere and returns the rows (ids.length x d). */
export interface RecollectExecutor {
  readonly name: string;
  run(work: RecollectWork): Promise<Float32Array>;
}

export interface RecollectResult {
  readonly ids: Int32Array;
  /** ids.length x d, row-major, in the order of ids. */
  readonly vectors: Float32Array;
  readonly seconds: number;
  /** Worker threads used here (0 when an executor ran the blocks elsewhere). */
  readonly workers: number;
  readonly blockSize: number;
}

/**
 * Computes the approximators a_u (u in ids) of a recorded run by the recursion of
 * docs/method.md#the-approximator-recursion, spreading contiguous shares of the samples over
 * worker threads (each with its own backend), and writes them to the store if one is given.
 * Lazy unlearning uses it with the requested ids.
 */
export async function recollect(options: RecollectOptions): Promise<RecollectResult> {
  const { model, data, trajectory } = options;
  assertTrajectoryMatches(trajectory, model);
  validateData(model, data);
  assertDataMatches(trajectory, data, 'recollect');
  // Rows written for another run would be applied as if they were this run's: refuse first.
  if (options.store) {
    assertManifestMatches(
      options.store.manifest,
      storeIdentity(model, trajectory, options.store.manifest.dtype),
    );
  }
  const ids = validateSampleIds(options.ids ?? Int32Array.from({ length: data.n }, (_, i) => i), {
    context: 'recollect',
    n: data.n,
  });
  for (const key of ['workers', 'blockSize'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new LetheError(
        'invalid-argument',
        `recollect: ${key} = ${value} is invalid; give a whole number >= 1 (or leave it out for the default).`,
      );
    }
  }
  if (options.initial && options.initial.length !== ids.length * model.d) {
    throw new LetheError(
      'shape-mismatch',
      `recollect: initial has ${options.initial.length} values, expected ids.length * d = ${ids.length * model.d}: pass one row of d values per id, in the order of ids.`,
    );
  }
  const blockSize =
    options.blockSize ?? defaultBlockSize(model, trajectory.config.batchSize, ids.length);
  const workers = Math.max(
    1,
    Math.min(options.workers ?? Math.min(2, availableParallelism()), ids.length),
  );
  const started = performance.now();
  const report = (fraction: number) => {
    const elapsedSeconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      fraction,
      elapsedSeconds,
      etaSeconds: fraction > 0 ? (elapsedSeconds * (1 - fraction)) / fraction : Number.NaN,
    });
  };

  let vectors: Float32Array;
  if (options.executor) {
    vectors = await options.executor.run({
      model,
      data,
      trajectory,
      ids,
      initial: options.initial,
      blocks: blocksOf(ids, blockSize),
      blockSize,
      setupModules: options.setupModules ?? [],
      report,
    });
    if (vectors.length !== ids.length * model.d) {
      throw new LetheError(
        'worker-failed',
        `recollect: executor ${options.executor.name} returned ${vectors.length} values, expected ids.length * d = ${ids.length * model.d}.`,
      );
    }
  } else if (workers === 1) {
    const tensors = new DataTensors(model, data);
    try {
      vectors = computeApproximators({
        model,
        data: tensors,
        trajectory,
        ids,
        initial: options.initial,
        blockSize,
        onStep: (step, total) => report(step / total),
      });
    } finally {
      tensors.dispose();
    }
  } else {
    vectors = await runInWorkers(
      model,
      data,
      trajectory,
      ids,
      options.initial,
      blockSize,
      workers,
      options.setupModules ?? [],
      report,
    );
  }
  if (options.store) await options.store.writeRows(ids, vectors);
  return {
    ids,
    vectors,
    seconds: (performance.now() - started) / 1000,
    workers: options.executor ? 0 : workers,
    blockSize,
  };
}

/**
 * Rows per block: 256 (large enough for the products to run at matMul speed), fewer for
 * models whose per-row tangents are large, so that a block stays within a few hundred MiB.
 */
function defaultBlockSize(model: Model, batchSize: number, count: number): number {
  // Tangent activations per row scale with the FLOPs per sample; ~1 float per 64 FLOPs.
  const perRowBytes = 4 * (4 * model.d + (model.hvpFlopsPerSample() / 64) * batchSize);
  const fit = Math.floor((512 * 1024 * 1024) / perRowBytes);
  return Math.max(1, Math.min(count, 256, fit));
}

async function runInWorkers(
  model: Model,
  data: TrainingData,
  trajectory: Trajectory,
  ids: Int32Array,
  initial: Float32Array | undefined,
  blockSize: number,
  workers: number,
  setupModules: readonly string[],
  report: (fraction: number) => void,
): Promise<Float32Array> {
  const recipe = recipeOf(model);
  const shares = splitEvenly(ids, workers);
  let firstRow = 0;
  const initialShares = shares.map((share) => {
    const part = initial?.slice(firstRow * model.d, (firstRow + share.length) * model.d);
    firstRow += share.length;
    return part;
  });
  const progress = new Array<number>(shares.length).fill(0);
  const entry = new URL('../dist/worker.js', import.meta.url);
  const results = await Promise.all(
    shares.map(
      (share, i) =>
        new Promise<Float32Array>((resolve, reject) => {
          const task: WorkerTask = {
            backend: backendInfo().name,
            model: recipe,
            setupModules,
            data,
            trajectory,
            ids: share,
            initial: initialShares[i],
            blockSize: Math.min(blockSize, share.length),
          };
          // Workers refuse per-process flags (--expose-gc) and --input-type (set when the parent
          // runs code from -e) does not apply to a file entry.
          const execArgv = process.execArgv.filter((a) => !/^--(input-type|expose-gc)/.test(a));
          const worker = new Worker(entry, { workerData: task, execArgv });
          worker.on('message', (m: WorkerMessage) => {
            if (m.kind === 'progress') {
              progress[i] = (m.step / m.total) * (share.length / ids.length);
              report(progress.reduce((a, b) => a + b, 0));
            } else if (m.kind === 'done') {
              resolve(m.vectors);
              void worker.terminate();
            } else {
              reject(
                new LetheError('worker-failed', `Recollection worker ${i} failed: ${m.message}`),
              );
              void worker.terminate();
            }
          });
          worker.on('error', reject);
        }),
    ),
  );
  const out = new Float32Array(ids.length * model.d);
  let offset = 0;
  for (const r of results) {
    out.set(r, offset);
    offset += r.length;
  }
  return out;
}

function splitEvenly(ids: Int32Array, parts: number): Int32Array[] {
  const out: Int32Array[] = [];
  const size = Math.ceil(ids.length / parts);
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

/** ids cut into contiguous blocks of blockSize (the recursion's own blocks, in its order). */
export function blocksOf(ids: Int32Array, blockSize: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let i = 0; i < ids.length; i += blockSize) out.push(ids.slice(i, i + blockSize));
  return out;
}
