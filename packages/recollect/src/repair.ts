import type { Model } from '@lethe/autodiff';
import { deriveSeed, LetheError, Rng } from '@lethe/core';
import {
  type ApproximatorStore,
  assertManifestMatches,
  type RowBlock,
  type StoreIdentity,
} from '@lethe/store';
import type { TrainingData } from './data.js';
import { recollect } from './recollect.js';
import type { ScheduledStep } from './schedule.js';
import { train } from './train.js';
import { assertDataMatches, storeIdentity, type Trajectory } from './trajectory.js';

export interface RepairOptions {
  readonly model: Model;
  readonly data: TrainingData;
  /** The run the store's vectors belong to (the original, or the last repair's continuation). */
  readonly trajectory: Trajectory;
  /** The current weights (after the deletions applied so far). */
  readonly weights: Float32Array;
  readonly store: ApproximatorStore;
  /** Epochs of continued training on the remaining samples. */
  readonly epochs: number;
  /** Distinguishes successive repairs (seeds their permutations). */
  readonly round?: number;
  /**
   * Seeds the continuation's permutations, with `round` (default: the run's config.seed; a run
   * trained from given initial weights and schedule without a seed needs it).
   */
  readonly seed?: number;
  readonly workers?: number;
  /**
   * Where the extended rows go. Given: called with the continuation run's store identity, it
   * returns an empty store for that run (a new file, table or database); `store` is left as it
   * was, so a crash mid-repair leaves the previous state readable, and an Unlearner for the
   * continuation opens the result; `store` must then carry `trajectory`'s identity (the
   * original run's store, or the previous repair's target). Omitted: the rows are written back
   * into `store`, whose manifest still names the original run (only that run's Unlearner will
   * open it).
   */
  readonly target?: (identity: StoreIdentity) => Promise<ApproximatorStore> | ApproximatorStore;
  readonly onProgress?: (info: { phase: 'train' | 'recollect'; fraction: number }) => void;
}

export interface RepairResult {
  readonly weights: Float32Array;
  /** The continuation run (its steps cover only the remaining samples). */
  readonly trajectory: Trajectory;
  readonly remaining: Int32Array;
  /** The store holding the extended rows (`target`'s, or `store`). */
  readonly store: ApproximatorStore;
}

/**
 * Continues training on the samples still in the store and extends their approximators through
 * the new steps (same recursion, starting from the stored vectors), so that later requests stay
 * first-order exact for the composite run: original steps, the deletions applied, the new steps.
 * The step size keeps decaying from where the original run stopped (docs/method.md#repair).
 */
export async function repair(options: RepairOptions): Promise<RepairResult> {
  const { model, data, trajectory, store } = options;
  if (!(Number.isInteger(options.epochs) && options.epochs >= 1)) {
    throw new LetheError(
      'invalid-argument',
      `repair: epochs must be an integer >= 1, got ${options.epochs}.`,
    );
  }
  assertDataMatches(trajectory, data, 'repair');
  const { config } = trajectory;
  const round = options.round ?? 1;
  const seed = options.seed ?? config.seed;
  if (seed === undefined) {
    throw new LetheError(
      'invalid-argument',
      "repair: the run's config has no seed to draw the continuation's batches from: pass repair a seed (a whole number).",
    );
  }
  for (const [key, value] of [
    ['seed', seed],
    ['round', round],
  ] as const) {
    if (!(Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 32)) {
      throw new LetheError(
        'invalid-argument',
        `repair: ${key} = ${value} is invalid; give a whole number in [-2^31, 2^32).`,
      );
    }
  }
  // The rows extended must belong to this model; with a target they must also belong to this
  // run. In place, after a first repair, the store's manifest keeps naming the original run
  // while `trajectory` is the continuation, so only the model's fields can be checked then.
  const expected = storeIdentity(model, trajectory, store.manifest.dtype);
  assertManifestMatches(
    store.manifest,
    options.target ? expected : { ...expected, trajectoryDigest: store.manifest.trajectoryDigest },
  );
  const remaining = await store.liveIds();
  if (remaining.length === 0)
    throw new LetheError(
      'not-found',
      'repair: the store holds no approximators, so there is nothing to extend: run recollect() into it first.',
    );
  const start = trajectory.steps.length;
  const firstEta = trajectory.steps.length > 0 ? trajectory.steps[0]!.eta : config.lr;
  const schedule: ScheduledStep[] = [];
  for (let e = 0; e < options.epochs; e++) {
    const perm = new Rng(deriveSeed(seed, 0x4e9a1, round, e)).permutation(remaining.length);
    for (let s = 0; s < remaining.length; s += config.batchSize) {
      const t = start + schedule.length;
      const batch = Int32Array.from(
        perm.subarray(s, Math.min(remaining.length, s + config.batchSize)),
        (i) => remaining[i]!,
      );
      schedule.push({ epoch: e, batch, eta: firstEta * config.lrDecay ** t });
    }
  }
  const continued = train(
    model,
    data,
    { ...config, epochs: options.epochs },
    {
      initialWeights: options.weights,
      schedule,
      stepSizes: 'schedule', // the decay continues from where the original run stopped
      onStep: (s) => options.onProgress?.({ phase: 'train', fraction: s.step / s.total }),
    },
  );
  // The live ids ascending are exactly the store's rows 0..count-1: one contiguous block.
  const initial = rowMajor(await store.readBlock(0, remaining.length));
  const extended = await recollect({
    model,
    data,
    trajectory: continued.trajectory,
    ids: remaining,
    initial,
    workers: options.workers ?? 1,
    onProgress: (p) => options.onProgress?.({ phase: 'recollect', fraction: p.fraction }),
  });
  const out = options.target ? await openTarget(options, continued.trajectory) : store;
  await out.writeRows(remaining, extended.vectors);
  return { weights: continued.weights, trajectory: continued.trajectory, remaining, store: out };
}

async function openTarget(options: RepairOptions, continuation: Trajectory) {
  const identity = storeIdentity(options.model, continuation, options.store.manifest.dtype);
  const target = await options.target!(identity);
  const m = target.manifest;
  const fields = ['modelDigest', 'layoutDigest', 'd', 'dtype', 'trajectoryDigest'] as const;
  const wrong = fields.find((f) => m[f] !== identity[f]);
  if (wrong) {
    throw new LetheError(
      'manifest-mismatch',
      `repair: the target store's ${wrong} is ${String(m[wrong])}, expected ${String(identity[wrong])}: create it with the identity passed to target.`,
    );
  }
  if ((await target.liveIds()).length > 0)
    throw new LetheError(
      'invalid-argument',
      'repair: the target store already holds rows: pass a new, empty store.',
    );
  return target;
}

/** A block's rows as one row-major Float32Array (its own data when the view is plain). */
function rowMajor(block: RowBlock): Float32Array {
  const [rows = 0, d = 0] = block.shape;
  const plain = block.offset === 0 && block.stride[0] === d && block.stride[1] === 1;
  if (plain && block.data.length === rows * d) return block.data;
  const out = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) out[i * d + j] = block.get(i, j);
  return out;
}
