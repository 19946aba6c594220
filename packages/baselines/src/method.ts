import type { Model } from '@lethe/autodiff';
import { LetheError, validateSampleIds } from '@lethe/core';
import {
  finalWeights,
  type TrainingData,
  type Trajectory,
  type UnlearnRecord,
} from '@lethe/recollect';
import {
  assertDataMatches,
  assertTrajectoryMatches,
  validateData,
} from '@lethe/recollect/internals';

/** What every method unlearns from: a model trained on `data` by a recorded run. */
export interface UnlearningContext {
  readonly model: Model;
  readonly data: TrainingData;
  /** The training run (its config gives lambda, |B|, eta, C; the Hessian-free method replays it). */
  readonly trajectory: Trajectory;
  /** Weights to unlearn from (default: the run's final weights w_T). */
  readonly weights?: Float32Array;
}

/** The one-off work a method does before any request, counted as the paper counts it. */
export interface PrepareRecord {
  readonly method: string;
  readonly seconds: number;
  /** Bytes of the statistics kept between requests (Hessian, factor, approximators). */
  readonly bytes: number;
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * One applied deletion request: the engine's record (request index since prepare() or the last
 * reset(), ids, mode, wall time of everything the method does to answer it) and which method
 * applied it, how many samples are removed so far, and the method's own detail.
 */
export interface RequestRecord extends UnlearnRecord {
  readonly method: string;
  /** Samples removed so far, this request included. */
  readonly removed: number;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** The record of a request that started at `started` (performance.now()) and ends now. */
export function requestRecord(
  method: string,
  request: number,
  ids: readonly number[],
  removed: number,
  started: number,
  detail: Readonly<Record<string, unknown>>,
): RequestRecord {
  return {
    method,
    request,
    requestId: `request-${request}`,
    ids,
    mode: ids.length === 1 ? 'online' : 'batch',
    milliseconds: performance.now() - started,
    removed,
    detail,
  };
}

export interface UnlearnResult {
  /** The weights after this request (a copy). */
  readonly weights: Float32Array;
  readonly record: RequestRecord;
}

/**
 * An unlearning method. `prepare` once, then `unlearn` one request at a time (requests
 * accumulate: a sample is forgotten once); `reset` returns to the prepared state without
 * repeating the precompute (benchmarks use it to answer independent requests).
 */
export interface UnlearningMethod {
  readonly name: string;
  prepare(ctx: UnlearningContext): Promise<PrepareRecord>;
  unlearn(ids: ArrayLike<number>): Promise<UnlearnResult>;
  reset(): Promise<void>;
  /** Frees what prepare kept. */
  dispose(): Promise<void>;
}

/** Validation and bookkeeping of requests, shared by the methods. */
export class RequestLedger {
  private removedSet = new Set<number>();
  private count = 0;

  constructor(
    private readonly method: string,
    readonly n: number,
  ) {}

  /** Checks a request as a whole (nothing changes when it throws); returns the ids. */
  check(ids: ArrayLike<number>): number[] {
    const list = Array.from(validateSampleIds(ids, { context: this.method, n: this.n }));
    for (const id of list) {
      if (this.removedSet.has(id)) {
        throw new LetheError(
          'already-forgotten',
          `${this.method}: sample ${id} was already forgotten; call reset() to start again from the prepared model.`,
        );
      }
    }
    if (this.removedSet.size + list.length >= this.n) {
      throw new LetheError(
        'invalid-argument',
        `${this.method}: forgetting ${list.length} more samples would leave no training data (n = ${this.n}, ${this.removedSet.size} already forgotten).`,
      );
    }
    return list;
  }

  /** Records an applied request; returns its index. */
  commit(ids: readonly number[]): number {
    for (const id of ids) this.removedSet.add(id);
    return this.count++;
  }

  get removed(): number[] {
    return [...this.removedSet].sort((a, b) => a - b);
  }

  get removedCount(): number {
    return this.removedSet.size;
  }

  /** Ids still in the training set. */
  remaining(): Int32Array {
    const out = new Int32Array(this.n - this.removedSet.size);
    let k = 0;
    for (let i = 0; i < this.n; i++) if (!this.removedSet.has(i)) out[k++] = i;
    return out;
  }

  reset(): void {
    this.removedSet = new Set();
    this.count = 0;
  }
}

/**
 * Checks a context (the trajectory is the model's and was recorded on this data; the weights
 * have length d and are finite) and returns a copy of the weights to unlearn from.
 */
export function startWeights(method: string, ctx: UnlearningContext): Float32Array {
  assertTrajectoryMatches(ctx.trajectory, ctx.model);
  validateData(ctx.model, ctx.data);
  assertDataMatches(ctx.trajectory, ctx.data, method);
  const w = Float32Array.from(ctx.weights ?? finalWeights(ctx.trajectory));
  if (w.length !== ctx.model.d) {
    throw new LetheError(
      'shape-mismatch',
      `${method}: weights have length ${w.length}, expected d = ${ctx.model.d} for model ${ctx.model.name}: pass the weights of that model.`,
    );
  }
  const bad = w.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new LetheError(
      'non-finite',
      `${method}: weights[${bad}] is ${w[bad]}; unlearn from the finite weights the model serves.`,
    );
  }
  return w;
}

export function notPrepared(method: string): Error {
  return new LetheError(
    'invalid-argument',
    `${method}: call prepare(ctx) before unlearn() or reset().`,
  );
}

export const seconds = (since: number): number => (performance.now() - since) / 1000;
