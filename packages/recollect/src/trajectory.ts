import { createHash } from 'node:crypto';
import { type ClipState, layoutDigest, type Model } from '@lethe/autodiff';
import { LetheError, type TrainingData } from '@lethe/core';
import type { StoreDType, StoreIdentity } from '@lethe/store';
import type { TrainConfig } from './config.js';

/** When to keep a copy of the weights; between copies, steps are replayed exactly. */
export type CheckpointPolicy =
  | { readonly kind: 'every-step' }
  | { readonly kind: 'every'; readonly interval: number }
  | { readonly kind: 'none' };

export interface RecordedStep {
  readonly epoch: number;
  readonly batch: Int32Array;
  readonly eta: number;
  readonly clip: ClipState;
  readonly loss: number;
}

/** Everything needed to replay a training run and to unlearn from it. */
export interface Trajectory {
  readonly model: {
    readonly name: string;
    readonly digest: string;
    readonly d: number;
    readonly spec?: Model['spec'];
  };
  readonly config: TrainConfig;
  readonly n: number;
  readonly dataDigest: string;
  /** The backend the run was recorded on; replay is bit for bit only on the same one. */
  readonly backend: string;
  readonly steps: readonly RecordedStep[];
  /** w_t at the start of step t (t = steps.length: the final weights). */
  readonly checkpoints: ReadonlyMap<number, Float32Array>;
  readonly policy: CheckpointPolicy;
  /**
   * Identity of the run (what a store's trajectoryDigest records): model, data, configuration,
   * initial weights and every step's batch and step size; see trajectoryDigest.
   */
  readonly digest: string;
}

export function dataDigest(x: Float32Array, y: Int32Array): string {
  return createHash('sha256')
    .update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength))
    .update(new Uint8Array(y.buffer, y.byteOffset, y.byteLength))
    .digest('hex')
    .slice(0, 32);
}

/**
 * The identity of a run: everything that determines its approximators. That is the model
 * (digest, which covers its layout), the data, the initial weights, the config's numbers, and
 * every step's epoch, batch and step size, which a custom schedule sets apart from the seed (a
 * store of one run must not open for a run that differs in one batch, as repair's continuations
 * and replays of other frameworks' runs do). The config is hashed field by field as float64, so
 * neither its key order nor extra properties change the identity; its seed is left out, because
 * it decides nothing but the initial weights and batches, which are hashed themselves (a seeded
 * run and its replay from the same weights and schedule are one run).
 *
 * The backend is left out on purpose: on another backend the same run replays, and its
 * approximators come out, equal up to float32 rounding, not bit for bit. That is far inside the
 * first-order error the approximators carry anyway, so a store computed on one backend (say
 * node on a server) stays valid for an Unlearner on another (wasm); refusing it would force a
 * recomputation that buys nothing. The recording backend stays on `Trajectory.backend`.
 */
export function trajectoryDigest(parts: {
  modelDigest: string;
  config: TrainConfig;
  dataDigest: string;
  initialWeights: Float32Array;
  schedule: readonly { readonly epoch: number; readonly batch: Int32Array; readonly eta: number }[];
}): string {
  const { config } = parts;
  const w = parts.initialWeights;
  const numbers = Float64Array.from([
    config.epochs,
    config.batchSize,
    config.lr,
    config.lrDecay,
    config.clip,
    config.l2,
    parts.schedule.length,
    w.length,
  ]);
  const hash = createHash('sha256')
    .update(`lethe-run/2\0${parts.modelDigest}\0${parts.dataDigest}\0`)
    .update(new Uint8Array(numbers.buffer))
    .update(new Uint8Array(w.buffer, w.byteOffset, w.byteLength));
  const header = new Float64Array(3);
  for (const step of parts.schedule) {
    // epoch, batch length and eta as float64, then the batch's ids, so no two schedules collide.
    header[0] = step.epoch;
    header[1] = step.batch.length;
    header[2] = step.eta;
    hash.update(new Uint8Array(header.buffer));
    hash.update(new Uint8Array(step.batch.buffer, step.batch.byteOffset, step.batch.byteLength));
  }
  return hash.digest('hex').slice(0, 32);
}

export function keepsCheckpoint(policy: CheckpointPolicy, t: number): boolean {
  if (t === 0) return true;
  if (policy.kind === 'every-step') return true;
  if (policy.kind === 'every') return t % policy.interval === 0;
  return false;
}

/** The final weights w_T of a trajectory (always kept). */
/**
 * The run's digests, as a certificate binds them (@lethe/certify's RunBinding): the model's,
 * the trajectory's (which covers model, data, config, initial weights, batches and step sizes)
 * and the training data's.
 */
export function runDigests(trajectory: Trajectory): {
  modelDigest: string;
  trajectoryDigest: string;
  dataDigest: string;
} {
  return {
    modelDigest: trajectory.model.digest,
    trajectoryDigest: trajectory.digest,
    dataDigest: trajectory.dataDigest,
  };
}

export function finalWeights(trajectory: Trajectory): Float32Array {
  return trajectory.checkpoints.get(trajectory.steps.length)!;
}

/** Checks that a trajectory belongs to this model; names the mismatch and the fix. */
export function assertTrajectoryMatches(trajectory: Trajectory, model: Model): void {
  if (trajectory.model.digest !== model.digest || trajectory.model.d !== model.d) {
    throw new LetheError(
      'mismatch',
      `Trajectory was recorded for model ${trajectory.model.name} (digest ${trajectory.model.digest}, d = ${trajectory.model.d}) but model ${model.name} (digest ${model.digest}, d = ${model.d}) was given: use the model the run was trained with.`,
    );
  }
}

/**
 * Checks that `data` is the training data the run was recorded on (same n, same bytes in the
 * same order): approximators, replays and second-order updates computed on other data would be
 * silently wrong. Names the mismatch and the fix.
 */
export function assertDataMatches(
  trajectory: Trajectory,
  data: TrainingData,
  context: string,
): void {
  if (data.n !== trajectory.n) {
    throw new LetheError(
      'mismatch',
      `${context}: the trajectory was recorded on n = ${trajectory.n} samples but the data has n = ${data.n}: pass the training data of that run.`,
    );
  }
  const given = dataDigest(data.x, data.y);
  if (given !== trajectory.dataDigest) {
    throw new LetheError(
      'mismatch',
      `${context}: the data given (digest ${given}) is not the data the run was recorded on (digest ${trajectory.dataDigest}), though both have n = ${data.n}: pass that run's training data, unchanged and in the same order.`,
    );
  }
}

/** The identity a store of this run's approximators carries (what `open` checks against). */
export function storeIdentity(
  model: Model,
  trajectory: Trajectory,
  dtype: StoreDType = 'float32',
): StoreIdentity {
  assertTrajectoryMatches(trajectory, model);
  return {
    modelDigest: model.digest,
    layoutDigest: layoutDigest(model.name, model.layout),
    d: model.d,
    dtype,
    trajectoryDigest: trajectory.digest,
  };
}
