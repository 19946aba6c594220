import type { Model } from '@lethe/autodiff';
import { LetheError, validateSampleIds } from '@lethe/core';
import { type ApproximatorStore, assertManifestMatches } from '@lethe/store';
import { type TrainingData, validateData } from './data.js';
import { recollect } from './recollect.js';
import { secondOrderUpdate } from './second-order.js';
import {
  assertDataMatches,
  assertTrajectoryMatches,
  finalWeights,
  storeIdentity,
  type Trajectory,
} from './trajectory.js';

/** One applied deletion request. */
export interface UnlearnRecord {
  readonly request: number;
  readonly ids: readonly number[];
  readonly mode: 'online' | 'batch' | 'second-order refinement';
  /** Time to apply the update (lookup, vector additions, erasure). */
  readonly milliseconds: number;
}

/** Where approximators come from: a store filled by recollect, or computed on demand. */
export type ApproximatorSource =
  | { readonly kind: 'store'; readonly store: ApproximatorStore }
  | { readonly kind: 'lazy'; readonly data: TrainingData; readonly workers?: number };

/**
 * Forgets samples from a model trained with a recorded trajectory: w <- w + sum_{u in U} a_u
 * (docs/method.md#online-and-batch-unlearning).
 * Requests are validated as a whole before anything changes; used vectors are erased from
 * the store (they derive from the forgotten samples' data).
 */
export class Unlearner {
  private current: Float32Array;
  private readonly forgottenAt = new Map<number, number>();
  private readonly log: UnlearnRecord[] = [];
  /** Ids covered by the last second-order refinement (the weights are second order for them). */
  private refined = new Set<number>();
  /** Opened on the run's final weights (not on weights carrying earlier, unknown deletions). */
  private readonly fromFinalWeights: boolean;

  private constructor(
    readonly model: Model,
    readonly trajectory: Trajectory,
    private readonly source: ApproximatorSource,
    weights: Float32Array,
  ) {
    this.current = weights;
    const final = finalWeights(trajectory);
    this.fromFinalWeights = weights.every((v, i) => v === final[i]);
  }

  /**
   * Opens an unlearner; a store that does not belong to this model and trajectory, or lazy
   * training data that is not the run's, is refused.
   */
  static open(
    model: Model,
    trajectory: Trajectory,
    source: ApproximatorSource,
    weights?: Float32Array,
  ): Unlearner {
    assertTrajectoryMatches(trajectory, model);
    if (source.kind === 'store') {
      assertManifestMatches(
        source.store.manifest,
        storeIdentity(model, trajectory, source.store.manifest.dtype),
      );
    } else {
      validateData(model, source.data);
      assertDataMatches(trajectory, source.data, 'Unlearner.open');
    }
    const w = Float32Array.from(weights ?? finalWeights(trajectory));
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
    return new Unlearner(model, trajectory, source, w);
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
    const started = performance.now();
    // secondOrderUpdate checks that the data is the run's.
    const result = secondOrderUpdate(this.model, source, this.trajectory, ids, { onStep });
    this.current = result.weights;
    this.refined = new Set(ids);
    const record: UnlearnRecord = {
      request: this.log.length,
      ids,
      mode: 'second-order refinement',
      milliseconds: performance.now() - started,
    };
    this.log.push(record);
    return record;
  }

  /** Online unlearning: forget one sample now. */
  forget(id: number): Promise<UnlearnRecord> {
    return this.apply([id], 'online');
  }

  /** Batch unlearning: forget a set of samples with one update. */
  forgetBatch(ids: ArrayLike<number>): Promise<UnlearnRecord> {
    return this.apply(Array.from(ids), 'batch');
  }

  /** The sum of the approximators of `ids` without applying it (validation as for forget). */
  async update(ids: ArrayLike<number>): Promise<Float32Array> {
    const list = Array.from(ids);
    await this.validate(list);
    return this.sumOf(list);
  }

  private async apply(ids: number[], mode: 'online' | 'batch'): Promise<UnlearnRecord> {
    await this.validate(ids);
    const started = performance.now();
    const delta = await this.sumOf(ids);
    // Erase first: if it fails, nothing has changed; after it, the in-place update cannot fail.
    if (this.source.kind === 'store') await this.source.store.erase(ids);
    const w = this.current;
    for (let i = 0; i < w.length; i++) w[i]! += delta[i]!;
    const request = this.log.length;
    for (const id of ids) this.forgottenAt.set(id, request);
    const record: UnlearnRecord = { request, ids, mode, milliseconds: performance.now() - started };
    this.log.push(record);
    return record;
  }

  private async sumOf(ids: number[]): Promise<Float32Array> {
    const d = this.model.d;
    const rows =
      this.source.kind === 'store'
        ? await this.source.store.readRows(ids)
        : (
            await recollect({
              model: this.model,
              data: this.source.data,
              trajectory: this.trajectory,
              ids,
              workers: Math.min(this.source.workers ?? 1, ids.length),
            })
          ).vectors;
    if (ids.length === 1) return rows;
    // Sum in float64 so that the order of arrival does not change the result's rounding much.
    const sum = new Float64Array(d);
    for (let r = 0; r < ids.length; r++) {
      const off = r * d;
      for (let j = 0; j < d; j++) sum[j]! += rows[off + j]!;
    }
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
