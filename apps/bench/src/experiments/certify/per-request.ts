// The per-request removal bound on the bench's run: its value and tightness for the forgotten
// set, its cost beside a retraining's, and an adversarial check over many deletion sets (random
// and chosen to be worst) that the exact retraining never lies outside it.
import type { Model } from '@lethe/autodiff';
import {
  removalBoundFor,
  type SoftmaxRemovalConstants,
  type SoftmaxRun,
  softmaxRemovalBound,
  softmaxRemovalConstants,
  softmaxRetrain,
  softmaxUnlearnedWeights,
} from '@lethe/certify';
import { softmaxRunFromTrajectory } from '@lethe/certify/trajectory';
import { Rng } from '@lethe/core';
import type { TrainingData, Trajectory } from '@lethe/recollect';
import { progressLine } from '../../progress.js';
import { median } from '../../stats.js';

export interface OrderBound {
  readonly bound: number;
  /** ||released weights - exact float64 retraining||. */
  readonly trueDistance: number;
  readonly tightness: number;
}

export interface AdversarialSet {
  readonly kind: 'random' | 'largest-gradient' | 'one-class' | 'clipped-steps';
  readonly size: number;
  readonly exactPrefix: number;
  readonly certified: boolean;
  readonly firstOrder: OrderBound;
  readonly secondOrder: OrderBound;
}

export interface PerRequestRecord {
  readonly proven: true;
  readonly firstOrder: OrderBound;
  readonly secondOrder: OrderBound;
  /** The second-order unlearned weights the 'per-request-2' rows release. */
  readonly secondOrderWeights: Float32Array;
  readonly exactPrefix: number;
  readonly steps: number;
  readonly certified: boolean;
  readonly refusal?: string;
  /** Float32 rounding: ||tfjs retraining - exact float64 retraining||. */
  readonly float32Retrain: number;
  readonly cost: {
    readonly constantsSeconds: number;
    readonly boundSeconds: number;
    readonly retrainSeconds: number;
    /** Recomputing the second-order unlearned weights (the unlearning's work, not the bound's). */
    readonly releaseSeconds: number;
    readonly passes: number;
    readonly releasePasses: number;
    readonly retrainPasses: number;
  };
  readonly perStep: readonly number[];
  /**
   * What a bound carried by stored norms alone would multiply an error by: log10 of the product
   * of the per-step factors max(|1 - eta_t lambda|, |1 - eta_t (lambda + mu_t)|) (mu_t the run's
   * certified curvature at w_t), over the whole run and over the forgotten set's exact prefix,
   * and the steps whose factor exceeds 1.
   */
  readonly stepFactors: {
    readonly log10WholeRun: number;
    readonly log10Prefix: number;
    readonly expandingSteps: number;
  };
  readonly adversarial: {
    readonly sets: number;
    /** Sets that differ from every other (some small chosen sets recur by construction). */
    readonly distinctSets: number;
    readonly violations: number;
    readonly refused: number;
    /** Sets certified only by replaying the whole run (their bound is the exact distance). */
    readonly replayedWhole: number;
    /** Bound / true distance over the sets bounded from a prefix shorter than the run. */
    readonly tightness: {
      readonly firstOrder: { readonly median: number; readonly max: number };
      readonly secondOrder: { readonly median: number; readonly max: number };
    };
    readonly rows: readonly AdversarialSet[];
  };
}

export type PerRequestResult =
  | PerRequestRecord
  | { readonly proven: false; readonly reason: string };

export function perRequestBound(input: {
  readonly model: Model;
  readonly data: TrainingData;
  readonly trajectory: Trajectory;
  readonly forget: readonly number[];
  /** The first-order unlearned weights as released (float32, from the store). */
  readonly unlearned: Float32Array;
  readonly retrained: Float32Array;
  readonly adversarialSets: number;
  readonly seed: number;
}): PerRequestResult {
  const { model } = input;
  if (model.name !== 'logistic') {
    return {
      proven: false,
      reason: `the removal bound is proven for softmax regression only; '${model.name}' has no proven curvature constants here`,
    };
  }
  const run = softmaxRunFromTrajectory({
    model,
    data: input.data,
    trajectory: input.trajectory,
  });
  let started = performance.now();
  const constantsProgress = progressLine('removal bound: run constants');
  const constants = softmaxRemovalConstants(run, (i, total) => constantsProgress(i / total));
  const constantsSeconds = (performance.now() - started) / 1000;

  // The second-order weights the 'per-request-2' rows release (the first-order ones are the
  // store's): the unlearning's work, timed apart from the bound's.
  started = performance.now();
  const recomputed = softmaxUnlearnedWeights(run, input.forget);
  const releaseSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const boundProgress = progressLine('removal bound: forgotten set');
  const bound = softmaxRemovalBound({
    run,
    constants,
    forget: input.forget,
    released: { firstOrder: input.unlearned, secondOrder: recomputed.secondOrder },
    onStep: (i, total) => boundProgress(i / total),
  });
  const boundSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const exact = softmaxRetrain(run, input.forget);
  const retrainSeconds = (performance.now() - started) / 1000;
  const secondOrderWeights = Float32Array.from(bound.secondOrder.weights);
  const firstOrder = measured(bound.firstOrder.bound, input.unlearned, exact);
  const secondOrder = measured(
    removalBoundFor(bound, secondOrderWeights),
    secondOrderWeights,
    exact,
  );
  const adversarial = adversarialCheck(run, constants, input.adversarialSets, input.seed);
  return {
    proven: true,
    firstOrder,
    secondOrder,
    secondOrderWeights,
    exactPrefix: bound.exactPrefix,
    steps: run.steps,
    certified: bound.certified,
    ...(bound.refusal === undefined ? {} : { refusal: bound.refusal }),
    float32Retrain: distance(input.retrained, exact),
    cost: {
      constantsSeconds,
      boundSeconds,
      retrainSeconds,
      releaseSeconds,
      passes: bound.passes,
      releasePasses: recomputed.passes,
      retrainPasses: bound.retrainPasses,
    },
    perStep: Array.from(bound.perStep, (v) => (Number.isFinite(v) ? v : -1)),
    stepFactors: stepFactors(run, constants, bound.exactPrefix),
    adversarial,
  };
}

function stepFactors(
  run: SoftmaxRun,
  constants: SoftmaxRemovalConstants,
  prefix: number,
): PerRequestRecord['stepFactors'] {
  let whole = 0;
  let beforePrefix = 0;
  let expandingSteps = 0;
  for (let t = 0; t < run.steps; t++) {
    const { eta } = run.step(t);
    const factor = Math.max(
      Math.abs(1 - eta * run.lambda),
      Math.abs(1 - eta * (run.lambda + constants.curvature[t]!)),
    );
    const log = Math.log10(factor);
    whole += log;
    if (t < prefix) beforePrefix += log;
    if (factor > 1) expandingSteps++;
  }
  return { log10WholeRun: whole, log10Prefix: beforePrefix, expandingSteps };
}

function measured(bound: number, weights: ArrayLike<number>, exact: Float64Array): OrderBound {
  const trueDistance = distance(weights, exact);
  return { bound, trueDistance, tightness: bound / trueDistance };
}

/** Sizes 1..300, log-spaced, and four kinds of set: random, and three chosen to be worst. */
function adversarialCheck(
  run: SoftmaxRun,
  constants: SoftmaxRemovalConstants,
  count: number,
  seed: number,
): PerRequestRecord['adversarial'] {
  const n = run.y.length;
  const rng = new Rng(seed ^ 0x42_4f_55_4e);
  const sizes = [1, 2, 5, 10, 20, 50, 100, 200, 300].filter((s) => s <= n);
  const byGradient = largestGradients(run);
  const clippedRows = [
    ...new Set(
      Array.from(constants.gradientNorm.keys())
        .filter((t) => constants.gradientNorm[t]! > run.clip)
        .flatMap((t) => Array.from(run.step(t).batch)),
    ),
  ];
  const kinds: AdversarialSet['kind'][] = [
    'random',
    'largest-gradient',
    'one-class',
    'clipped-steps',
  ];
  const rows: AdversarialSet[] = [];
  const distinct = new Set<string>();
  const progress = progressLine(`removal bound: ${count} deletion sets`);
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length]!;
    const size = sizes[Math.floor(i / kinds.length) % sizes.length]!;
    // Each round covers every kind at every size once.
    const round = Math.floor(i / (kinds.length * sizes.length));
    const forget = chooseSet(kind, size, run, rng, byGradient, clippedRows, i, round);
    distinct.add([...forget].sort((a, b) => a - b).join(','));
    const bound = softmaxRemovalBound({ run, constants, forget });
    const exact = softmaxRetrain(run, forget);
    rows.push({
      kind,
      size: forget.length,
      exactPrefix: bound.exactPrefix,
      certified: bound.certified,
      firstOrder: measured(bound.firstOrder.bound, bound.firstOrder.weights, exact),
      secondOrder: measured(bound.secondOrder.bound, bound.secondOrder.weights, exact),
    });
    progress((i + 1) / count);
  }
  // An uncertified set's bound is infinite: it cannot be violated.
  const violations = rows.filter(
    (r) =>
      r.certified &&
      (r.firstOrder.trueDistance > r.firstOrder.bound ||
        r.secondOrder.trueDistance > r.secondOrder.bound),
  ).length;
  const certified = rows.filter((r) => r.certified);
  // A set certified only by replaying the whole run has its exact distance as its bound: its
  // tightness (1) says nothing about the bound, so the summary leaves it out.
  const bounded = certified.filter((r) => r.exactPrefix < run.steps);
  const stats = (f: (r: AdversarialSet) => number) => {
    const values = bounded.map(f);
    return values.length === 0
      ? { median: Number.NaN, max: Number.NaN }
      : { median: median(values), max: Math.max(...values) };
  };
  return {
    sets: rows.length,
    distinctSets: distinct.size,
    violations,
    refused: rows.length - certified.length,
    replayedWhole: certified.length - bounded.length,
    tightness: {
      firstOrder: stats((r) => r.firstOrder.tightness),
      secondOrder: stats((r) => r.secondOrder.tightness),
    },
    rows,
  };
}

function chooseSet(
  kind: AdversarialSet['kind'],
  size: number,
  run: SoftmaxRun,
  rng: Rng,
  byGradient: readonly number[],
  clippedRows: readonly number[],
  index: number,
  round: number,
): number[] {
  const n = run.y.length;
  const sample = (pool: readonly number[]) => {
    const copy = [...pool];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = rng.nextInt(i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, Math.min(size, copy.length));
  };
  switch (kind) {
    case 'random':
      return sample(Array.from({ length: n }, (_, i) => i));
    case 'largest-gradient': {
      // The first set of each size is the largest gradients themselves; later ones of that size
      // are drawn from the (round + 1) x size largest, so that repeats are other sets, still extreme.
      return round === 0
        ? byGradient.slice(0, size)
        : sample(byGradient.slice(0, (round + 1) * size));
    }
    case 'one-class': {
      const label = index % run.classes;
      return sample(Array.from({ length: n }, (_, i) => i).filter((i) => run.y[i] === label));
    }
    case 'clipped-steps':
      return clippedRows.length > 0
        ? sample(clippedRows)
        : sample(Array.from({ length: n }, (_, i) => i));
  }
}

/** Rows by the norm of their loss gradient at the final weights, largest first. */
function largestGradients(run: SoftmaxRun): number[] {
  const { classes, inputs, x, y } = run;
  const w = run.finalWeights;
  const stride = inputs + 1;
  const scores = Array.from({ length: y.length }, (_, i) => {
    const z = Array.from({ length: classes }, (_, c) => {
      let s = w[c * stride + inputs]!;
      for (let j = 0; j < inputs; j++) s += w[c * stride + j]! * x[i * inputs + j]!;
      return s;
    });
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const total = e.reduce((a, b) => a + b, 0);
    let residual = 0;
    for (let c = 0; c < classes; c++) residual += (e[c]! / total - (c === y[i] ? 1 : 0)) ** 2;
    let xx = 1;
    for (let j = 0; j < inputs; j++) xx += x[i * inputs + j]! ** 2;
    return { i, g: Math.sqrt(residual * xx) };
  });
  return scores.sort((a, b) => b.g - a.g).map((s) => s.i);
}

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}
