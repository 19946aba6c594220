import type { Model } from '@lethe/autodiff';
import { isLetheError, LetheError, validateSampleIds, weightsSha256 } from '@lethe/core';
import {
  type ApproximatorStore,
  assertManifestMatches,
  type DeletionEntry,
  type LedgerRelease,
} from '@lethe/store';
import { type TrainingData, validateData } from './data.js';
import { type RecollectExecutor, recollect } from './recollect.js';
import { secondOrderUpdate } from './second-order.js';
import {
  assertDataMatches,
  assertTrajectoryMatches,
  finalWeights,
  storeIdentity,
  type Trajectory,
} from './trajectory.js';

export type UnlearnMode = 'online' | 'batch' | 'second-order refinement';

/** One applied deletion request. */
export interface UnlearnRecord {
  readonly request: number;
  /** The caller's name for the request; `request-<n>` unless one was given. */
  readonly requestId: string;
  readonly ids: readonly number[];
  readonly mode: UnlearnMode;
  /**
   * Time to apply the update (lookup, vector additions, the ledger's commit with the erasure);
   * 0 for requests replayed from a ledger at open.
   */
  readonly milliseconds: number;
  /** The ledger entry, when the Unlearner keeps one. */
  readonly entry?: DeletionEntry;
}

/**
 * Where approximators come from: a store filled by recollect, or computed on demand. The store
 * also keeps the deletion ledger; a lazy source keeps one when given `ledger` (any store of this
 * run, rows or none: createMemoryStore, openFileStore, openSqliteStore).
 */
export type ApproximatorSource =
  | { readonly kind: 'store'; readonly store: ApproximatorStore }
  | {
      readonly kind: 'lazy';
      readonly data: TrainingData;
      readonly workers?: number;
      /** Computes the requested vectors elsewhere (e.g. on a job queue's workers). */
      readonly executor?: RecollectExecutor;
      readonly ledger?: ApproximatorStore;
    };

/** Options of one deletion request. */
export interface ForgetOptions {
  /** Names the request in the ledger; unique there (a repeat is refused). */
  readonly requestId?: string;
  /** The privacy the published weights of this request spend, recorded with it. */
  readonly release?: LedgerRelease;
}

/**
 * A deletion computed but not yet applied: `weights` are what the model becomes. Publish them
 * (noised) only after `commit` resolves; `commit` can carry the release's privacy cost, so that
 * the deletion and the budget it spends are recorded in one atomic write.
 */
export interface PendingDeletion {
  readonly ids: readonly number[];
  readonly mode: UnlearnMode;
  /** The weights after the deletion (a copy). */
  readonly weights: Float32Array;
  commit(options?: ForgetOptions): Promise<UnlearnRecord>;
}

/**
 * Forgets samples from a model trained with a recorded trajectory: w <- w + sum_{u in U} a_u
 * (docs/method.md#online-and-batch-unlearning).
 * Requests are validated as a whole before anything changes. With a ledger (always with a
 * store source) each deletion is one atomic commit of the vectors' erasure, the ledger entry
 * and the new weights, so a crash at any point leaves either all of it or none of it, and
 * reopening resumes from the ledger: the weights after the last deletion, and every forgotten
 * sample refused a second time.
 */
export class Unlearner {
  private current: Float32Array;
  private readonly forgottenAt = new Map<number, number>();
  private readonly log: UnlearnRecord[] = [];
  /** Ids covered by the last second-order refinement (the weights are second order for them). */
  private refined = new Set<number>();
  /** Opened on the run's final weights (not on weights carrying earlier, unknown deletions). */
  private readonly fromFinalWeights: boolean;
  private readonly ledger: ApproximatorStore | undefined;
  /** Set when a commit failed and re-reading the ledger failed too: the state is unknown. */
  private broken: Error | undefined;

  private constructor(
    readonly model: Model,
    readonly trajectory: Trajectory,
    private readonly source: ApproximatorSource,
    weights: Float32Array,
    entries: readonly DeletionEntry[],
  ) {
    this.current = weights;
    this.ledger = source.kind === 'store' ? source.store : source.ledger;
    const final = weightsSha256(finalWeights(trajectory));
    this.fromFinalWeights = (entries[0]?.weightsBeforeSha256 ?? weightsSha256(weights)) === final;
    for (const entry of entries) {
      if (entry.mode === 'second-order refinement') {
        // The ledger lists no ids for a refinement (it forgets nothing new); it covers all so far.
        this.refined = new Set(this.forgottenAt.keys());
        this.remember({ ...recordOf(entry, 0), ids: [...this.refined] });
      } else {
        this.remember(recordOf(entry, 0));
      }
    }
  }

  /**
   * Opens an unlearner; a store that does not belong to this model and trajectory, or lazy
   * training data that is not the run's, is refused. With a ledger that holds deletions, the
   * unlearner resumes after the last one: its weights are the ledger's head weights.
   */
  static async open(
    model: Model,
    trajectory: Trajectory,
    source: ApproximatorSource,
    weights?: Float32Array,
  ): Promise<Unlearner> {
    assertTrajectoryMatches(trajectory, model);
    const ledger = source.kind === 'store' ? source.store : source.ledger;
    if (source.kind === 'lazy') {
      validateData(model, source.data);
      assertDataMatches(trajectory, source.data, 'Unlearner.open');
    }
    if (ledger !== undefined) {
      assertManifestMatches(
        ledger.manifest,
        storeIdentity(model, trajectory, ledger.manifest.dtype),
      );
    }
    const entries = ledger === undefined ? [] : await ledger.deletions();
    const head = entries.length > 0 ? await ledger!.headWeights() : undefined;
    if (
      head !== undefined &&
      weights !== undefined &&
      weightsSha256(Float32Array.from(weights)) !== weightsSha256(head)
    ) {
      throw new LetheError(
        'mismatch',
        `Unlearner.open: the ledger holds ${entries.length} deletions, and the weights passed are not the weights after the last of them; open without weights to resume from the ledger's head weights.`,
      );
    }
    const w = Float32Array.from(head ?? weights ?? finalWeights(trajectory));
    if (w.length !== model.d)
      throw new LetheError(
        'shape-mismatch',
        `Unlearner.open: weights have length ${w.length}, expected d = ${model.d} for model ${model.name}: pass the weights of that model.`,
      );
    const bad = w.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new LetheError(
        'non-finite',
        `Unlearner.open: weights[${bad}] is ${w[bad]}; open with the finite weights the model serves.`,
      );
    }
    // Without a ledger, weights that already carry deletions would take them a second time:
    // the lazy source recomputes any sample's vector (a store refuses erased ones).
    if (ledger === undefined && weights !== undefined) {
      const final = finalWeights(trajectory);
      if (!w.every((v, i) => v === final[i])) {
        throw new LetheError(
          'unsupported',
          "Unlearner.open: weights other than the run's final ones with a lazy source and no ledger: nothing records which samples they already forgot, so a repeated deletion would be applied twice. Pass `ledger` (a store of this run, e.g. createMemoryStore or openFileStore) in the source, or open without weights.",
        );
      }
    }
    return new Unlearner(model, trajectory, source, w, entries);
  }

  /** The deletion ledger's entries, when the unlearner keeps one; [] otherwise. */
  async deletions(): Promise<readonly DeletionEntry[]> {
    return this.ledger === undefined ? [] : this.ledger.deletions();
  }

  /** The current (unlearned, un-noised) weights; a copy. */
  get weights(): Float32Array {
    return Float32Array.from(this.current);
  }

  get history(): readonly UnlearnRecord[] {
    return this.log;
  }

  isForgotten(id: number): boolean {
    return this.forgottenAt.has(id);
  }

  get forgotten(): number[] {
    return [...this.forgottenAt.keys()];
  }

  /**
   * The order of the approximation the current weights carry: 2 when the last second-order
   * refinement covers every forgotten sample, else 1.
   */
  get order(): 1 | 2 {
    return this.refined.size > 0 && this.refined.size === this.forgottenAt.size ? 2 : 1;
  }

  /**
   * Second-order refinement of everything forgotten so far: one pass over the trajectory for the
   * whole set, then the weights become w_T + w'_T + w''_T / 2. Not additive: call it again as
   * requests accumulate (first-order updates in between are applied at once, as usual).
   */
  async refineSecondOrder(
    data?: TrainingData,
    onStep?: (step: number, total: number) => void,
  ): Promise<UnlearnRecord> {
    const source = data ?? (this.source.kind === 'lazy' ? this.source.data : undefined);
    if (!source)
      throw new LetheError(
        'invalid-argument',
        'refineSecondOrder needs the training data: pass it (the store holds only vectors).',
      );
    const ids = this.forgotten;
    if (ids.length === 0)
      throw new LetheError(
        'invalid-argument',
        'Nothing was forgotten yet: refineSecondOrder refines earlier requests.',
      );
    // The refinement rebuilds the weights from w_T for the set this unlearner knows; weights it
    // was opened with may carry deletions it does not know, which would silently be dropped.
    if (!this.fromFinalWeights) {
      throw new LetheError(
        'unsupported',
        "refineSecondOrder: this Unlearner was opened on weights other than the run's final ones, so it does not know every deletion they carry; open it without weights and forget the whole set there, or keep the first-order weights.",
      );
    }
    this.assertUsable();
    const started = performance.now();
    // secondOrderUpdate checks that the data is the run's.
    const result = secondOrderUpdate(this.model, source, this.trajectory, ids, { onStep });
    // The ledger records the new weights; the refinement forgets no new sample.
    const record = await this.commit([], 'second-order refinement', result.weights, {}, started);
    this.refined = new Set(ids);
    return { ...record, ids };
  }

  /** Online unlearning: forget one sample now. */
  async forget(id: number, options?: ForgetOptions): Promise<UnlearnRecord> {
    return (await this.prepare([id], 'online')).commit(options);
  }

  /** Batch unlearning: forget a set of samples with one update. */
  async forgetBatch(ids: ArrayLike<number>, options?: ForgetOptions): Promise<UnlearnRecord> {
    return (await this.prepare(Array.from(ids), 'batch')).commit(options);
  }

  /**
   * Computes a deletion without applying it, for callers that publish a noised release of the
   * new weights: release from `pending.weights`, then `pending.commit({ release })` records the
   * deletion and the privacy it spent together. Another request committed in between makes
   * this one stale ('ledger-conflict'); prepare it again.
   */
  async prepareForget(ids: ArrayLike<number>): Promise<PendingDeletion> {
    const list = Array.from(ids);
    return this.prepare(list, list.length === 1 ? 'online' : 'batch');
  }

  /** The sum of the approximators of `ids` without applying it (validation as for forget). */
  async update(ids: ArrayLike<number>): Promise<Float32Array> {
    const list = Array.from(ids);
    await this.validate(list);
    return this.sumOf(list);
  }

  private async prepare(ids: number[], mode: 'online' | 'batch'): Promise<PendingDeletion> {
    this.assertUsable();
    await this.validate(ids);
    const started = performance.now();
    const delta = await this.sumOf(ids);
    const weights = Float32Array.from(this.current);
    for (let i = 0; i < weights.length; i++) weights[i]! += delta[i]!;
    const base = this.log.length;
    const computing = performance.now() - started;
    let committed = false;
    return {
      ids: [...ids],
      mode,
      weights: Float32Array.from(weights),
      commit: async (options = {}) => {
        if (committed) {
          throw new LetheError(
            'already-forgotten',
            `Unlearner: this deletion of ${ids.length} sample(s) was already committed; it is not applied twice.`,
          );
        }
        if (this.log.length !== base) {
          throw new LetheError(
            'ledger-conflict',
            `Unlearner: another request was applied after this deletion was prepared (request ${base} is taken); prepare it again.`,
          );
        }
        const record = await this.commit(
          ids,
          mode,
          weights,
          options,
          performance.now() - computing,
        );
        committed = true;
        return record;
      },
    };
  }

  /**
   * Makes `weights` current and `ids` forgotten: first durably in the ledger, when there is one
   * (erasing the vectors of a store source in the same commit), then in memory.
   */
  private async commit(
    ids: number[],
    mode: UnlearnMode,
    weights: Float32Array,
    options: ForgetOptions,
    started: number,
  ): Promise<UnlearnRecord> {
    this.assertUsable();
    const request = this.log.length;
    const requestId = options.requestId ?? `request-${request}`;
    if (this.ledger === undefined) {
      return this.remember(
        { request, requestId, ids, mode, milliseconds: performance.now() - started },
        weights,
      );
    }
    try {
      const entry = await this.ledger.commitDeletion({
        request,
        requestId,
        ids,
        mode,
        weights,
        weightsBeforeSha256: weightsSha256(this.current),
        erase: this.source.kind === 'store' ? ids : [],
        ...(options.release === undefined ? {} : { release: options.release }),
      });
      return this.remember(recordOf(entry, performance.now() - started), weights);
    } catch (error) {
      await this.reconcile(request, requestId, weights, error);
      throw error;
    }
  }

  /**
   * After a failed commit: a store may have committed and then failed to clean up (the error
   * says so); the ledger is the truth, so adopt what it holds. If it cannot be read either,
   * the unlearner refuses further work until it is reopened.
   */
  private async reconcile(
    request: number,
    requestId: string,
    weights: Float32Array,
    error: unknown,
  ): Promise<void> {
    if (isLetheError(error) && error.code !== 'io') return; // refused before anything changed
    try {
      const entry = (await this.ledger!.deletions())[request];
      if (entry?.requestId === requestId) this.remember(recordOf(entry, 0), weights);
    } catch (reread) {
      this.broken = reread as Error;
    }
  }

  private remember(record: UnlearnRecord, weights?: Float32Array): UnlearnRecord {
    if (weights !== undefined) this.current = Float32Array.from(weights);
    for (const id of record.ids) this.forgottenAt.set(id, record.request);
    this.log.push(record);
    return record;
  }

  private assertUsable(): void {
    if (this.broken !== undefined) {
      throw new LetheError(
        'io',
        `Unlearner: a commit failed and the ledger could not be read back (${this.broken.message}), so whether it landed is unknown; open a new Unlearner on the store, which resumes from its ledger.`,
        { cause: this.broken },
      );
    }
  }

  private async sumOf(ids: number[]): Promise<Float32Array> {
    const d = this.model.d;
    if (this.source.kind === 'store') return sumStoreRows(this.source.store, ids, d);
    const { vectors } = await recollect({
      model: this.model,
      data: this.source.data,
      trajectory: this.trajectory,
      ids,
      workers: Math.min(this.source.workers ?? 1, ids.length),
      executor: this.source.executor,
    });
    if (ids.length === 1) return vectors;
    const sum = new Float64Array(d);
    addRows(sum, vectors, ids.length, d);
    return Float32Array.from(sum);
  }

  private async validate(ids: number[]): Promise<void> {
    validateSampleIds(ids, { context: 'Unlearner', n: this.trajectory.n });
    for (const id of ids) {
      const at = this.forgottenAt.get(id);
      if (at !== undefined) {
        throw new LetheError(
          'already-forgotten',
          `Unlearner: sample ${id} was already forgotten (request ${at}); a deletion cannot be applied twice.`,
        );
      }
      if (this.source.kind === 'store' && !(await this.source.store.has(id))) {
        throw new LetheError(
          'not-found',
          `Unlearner: no approximator is stored for sample ${id}: run recollect() for it, or use the lazy source.`,
        );
      }
    }
  }
}

/** Rows of a store summed per chunk of this many ids. */
const SUM_CHUNK = 32;

const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0),
  );

/**
 * The float64 sum of a store's rows (so that the order of arrival does not change the result's
 * rounding much), in id order as in one read, read and added a chunk at a time with the event
 * loop let run between chunks: one read of a large deletion's rows is one large buffer (256 rows
 * of a 7,850-weight model: 8 MB, a major collection's worth) and its sum a stall of several
 * milliseconds for a server's other requests.
 */
async function sumStoreRows(
  store: ApproximatorStore,
  ids: number[],
  d: number,
): Promise<Float32Array> {
  const sum = new Float64Array(d);
  for (let start = 0; start < ids.length; start += SUM_CHUNK) {
    if (start > 0) await yieldToEventLoop();
    const chunk = ids.slice(start, start + SUM_CHUNK);
    addRows(sum, await store.readRows(chunk), chunk.length, d);
  }
  return Float32Array.from(sum);
}

/** sum += each of `count` rows of d values. */
function addRows(sum: Float64Array, rows: Float32Array, count: number, d: number): void {
  for (let r = 0; r < count; r++) {
    const off = r * d;
    for (let j = 0; j < d; j++) sum[j]! += rows[off + j]!;
  }
}

function recordOf(entry: DeletionEntry, milliseconds: number): UnlearnRecord {
  return {
    request: entry.request,
    requestId: entry.requestId,
    ids: entry.ids,
    mode: entry.mode as UnlearnMode,
    milliseconds,
    entry,
  };
}
