import { isLetheError, LetheError, Rng } from '@lethe/core';
import { checkLabels, logitScaledConfidence } from './confidence.js';
import { requirePositiveInteger } from './validate.js';

/**
 * Trains one shadow model on the pool samples `ids` (sorted, distinct) and returns the model's
 * logits on every pool sample, row by row ([poolSize, classes]). `shadow` is the shadow's index,
 * to seed its run. Any model fits: train it however it is trained for real.
 */
export type ShadowTrainer = (
  ids: Int32Array,
  shadow: number,
) => ArrayLike<number> | Promise<ArrayLike<number>>;

/** Who was in each shadow's training set, and what each shadow says about every pool sample. */
export interface ShadowSet {
  readonly poolSize: number;
  /** members[s][i] = 1 when shadow s trained on pool sample i. */
  readonly members: readonly Uint8Array[];
  /** confidences[s][i]: logit-scaled confidence of shadow s on pool sample i (its true label). */
  readonly confidences: readonly Float64Array[];
}

export interface TrainShadowsOptions {
  readonly poolSize: number;
  /** True labels of the pool samples (the confidence is taken at these). */
  readonly labels: ArrayLike<number>;
  readonly classes: number;
  /** Number of shadow models (even, >= 2). */
  readonly count: number;
  readonly seed: number;
  readonly train: ShadowTrainer;
  /** Called after each shadow with (done, total). */
  readonly onShadow?: (done: number, total: number) => void;
}

/**
 * Random halves of the pool, Carlini et al.'s way: every sample is put in exactly count/2 of the
 * shadows (a random choice per sample), so each shadow trains on half the pool in expectation
 * and every sample has count/2 "in" and count/2 "out" observations for its Gaussian fits.
 */
export function shadowMemberships(poolSize: number, count: number, seed: number): Uint8Array[] {
  const where = 'shadowMemberships';
  requirePositiveInteger(where, 'poolSize', poolSize);
  requirePositiveInteger(where, 'count', count);
  if (count < 2 || count % 2 !== 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: count = ${count} shadows; use an even number >= 2 so that every sample is in exactly half of them.`,
    );
  }
  const rng = new Rng(seed);
  const members = Array.from({ length: count }, () => new Uint8Array(poolSize));
  for (let i = 0; i < poolSize; i++) {
    const order = rng.permutation(count);
    for (let k = 0; k < count / 2; k++) members[order[k]!]![i] = 1;
  }
  return members;
}

/** Trains `count` shadow models on random halves of the pool and records their confidences. */
export async function trainShadows(options: TrainShadowsOptions): Promise<ShadowSet> {
  const { poolSize, labels, classes, count, seed } = options;
  if (labels.length !== poolSize) {
    throw new LetheError(
      'shape-mismatch',
      `trainShadows: ${labels.length} labels for a pool of ${poolSize} samples; pass one label per pool sample.`,
    );
  }
  // Checked before any shadow trains: a bad label or class count would only surface after it.
  requirePositiveInteger('trainShadows', 'classes', classes);
  if (classes < 2) {
    throw new LetheError(
      'invalid-argument',
      `trainShadows: needs at least 2 classes, got ${classes}; pass the model's class count.`,
    );
  }
  checkLabels('trainShadows', labels, poolSize, classes);
  const members = shadowMemberships(poolSize, count, seed);
  const confidences: Float64Array[] = [];
  for (let s = 0; s < count; s++) {
    const mask = members[s]!;
    const ids = Int32Array.from(
      Array.from({ length: poolSize }, (_, i) => i).filter((i) => mask[i] === 1),
    );
    const logits = await options.train(ids, s);
    if (logits.length !== poolSize * classes) {
      throw new LetheError(
        'shape-mismatch',
        `trainShadows: shadow ${s}'s trainer returned ${logits.length} logits; it must return the logits of every pool sample, ${poolSize} x ${classes} = ${poolSize * classes} values.`,
      );
    }
    try {
      confidences.push(logitScaledConfidence(logits, labels, classes));
    } catch (err) {
      // Say which shadow's run went wrong (a diverged run gives NaN logits).
      throw new LetheError(
        isLetheError(err) ? err.code : 'invalid-argument',
        `trainShadows: shadow ${s}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    options.onShadow?.(s + 1, count);
  }
  return { poolSize, members, confidences };
}
