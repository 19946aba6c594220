import type { Model } from '@lethe/autodiff';
import { finalWeights, type TrainingData, type Trajectory } from '@lethe/recollect';

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

/** One applied deletion request. */
export interface RequestRecord {
  readonly method: string;
  /** 0, 1, ... since prepare() or the last reset(). */
  readonly request: number;
  readonly ids: readonly number[];
  /** Samples removed so far, this request included. */
  readonly removed: number;
  /** Wall time of the request (everything the method does to answer it). */
  readonly seconds: number;
  readonly detail: Readonly<Record<string, unknown>>;
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
    const list = Array.from(ids);
    if (list.length === 0)
      throw new Error(`${this.method}: nothing to forget: pass at least one sample id.`);
    const seen = new Set<number>();
    for (const id of list) {
      if (!(Number.isInteger(id) && id >= 0 && id < this.n)) {
        throw new Error(
          `${this.method}: unknown sample id ${id}: this model was trained on ids 0..${this.n - 1}.`,
        );
      }
      if (seen.has(id))
        throw new Error(
          `${this.method}: sample id ${id} appears twice in one request: list it once.`,
        );
      seen.add(id);
      if (this.removedSet.has(id)) {
        throw new Error(
          `${this.method}: sample ${id} was already forgotten; call reset() to start again from the prepared model.`,
        );
      }
    }
    if (this.removedSet.size + list.length >= this.n) {
      throw new Error(
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

export function startWeights(ctx: UnlearningContext): Float32Array {
  const w = Float32Array.from(ctx.weights ?? finalWeights(ctx.trajectory));
  if (w.length !== ctx.model.d) {
    throw new Error(
      `Weights have length ${w.length}, expected d = ${ctx.model.d} for model ${ctx.model.name}.`,
    );
  }
  if (ctx.data.n !== ctx.trajectory.n) {
    throw new Error(
      `The trajectory was recorded on n = ${ctx.trajectory.n} samples but the data has n = ${ctx.data.n}: pass the training data of that run.`,
    );
  }
  return w;
}

export function notPrepared(method: string): Error {
  return new Error(`${method}: call prepare(ctx) before unlearn() or reset().`);
}

export const seconds = (since: number): number => (performance.now() - since) / 1000;
