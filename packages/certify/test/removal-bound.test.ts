// The removal bound against exact float64 retraining on small softmax-regression runs: it must
// hold after every step (the run truncated at each step), for first and second order, for
// random and chosen deletion sets, and stay informative (a finite bound, not the trace of a blow-up).
import { describe, expect, it } from 'vitest';
import {
  removalBoundFor,
  type SoftmaxRun,
  softmaxRemovalBound,
  softmaxRemovalConstants,
  softmaxUnlearnedWeights,
} from '../src/index.js';
import { jacobiEigenvalues, testRandom } from './reference.js';

const CLASSES = 3;
const INPUTS = 6;
const STRIDE = INPUTS + 1;
const D = CLASSES * STRIDE;

interface Setting {
  readonly n: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly eta: number;
  readonly decay: number;
  readonly clip: number;
  readonly lambda: number;
  readonly scale: number;
}

const SETTING: Setting = {
  n: 48,
  epochs: 6,
  batchSize: 8,
  eta: 2.4,
  decay: 0.98,
  clip: 0.6,
  lambda: 0.05,
  scale: 1.2,
};

/** Reference gradient of (1/|B|) sum_{i in rows} CE + (lambda/2)||w||^2 (|B| the batch's size). */
function gradient(
  w: Float64Array,
  x: Float64Array,
  y: Int32Array,
  rows: readonly number[],
  denominator: number,
  lambda: number,
): Float64Array {
  const g = Float64Array.from(w, (v) => lambda * v);
  for (const i of rows) {
    const z = Array.from({ length: CLASSES }, (_, c) => {
      let s = w[c * STRIDE + INPUTS]!;
      for (let j = 0; j < INPUTS; j++) s += w[c * STRIDE + j]! * x[i * INPUTS + j]!;
      return s;
    });
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const total = e.reduce((a, b) => a + b, 0);
    for (let c = 0; c < CLASSES; c++) {
      const coeff = (e[c]! / total - (c === y[i] ? 1 : 0)) / denominator;
      for (let j = 0; j < INPUTS; j++) g[c * STRIDE + j]! += coeff * x[i * INPUTS + j]!;
      g[c * STRIDE + INPUTS]! += coeff;
    }
  }
  return g;
}

function sgd(
  setting: Setting,
  x: Float64Array,
  y: Int32Array,
  batches: readonly number[][],
  skip: ReadonlySet<number>,
): Float64Array[] {
  let w = new Float64Array(D);
  const out = [w];
  batches.forEach((batch, t) => {
    const g = gradient(
      w,
      x,
      y,
      batch.filter((i) => !skip.has(i)),
      batch.length,
      setting.lambda,
    );
    const norm = Math.hypot(...g);
    const scale = norm > setting.clip ? setting.clip / norm : 1;
    const eta = setting.eta * setting.decay ** t;
    w = Float64Array.from(w, (v, k) => v - eta * scale * g[k]!);
    out.push(w);
  });
  return out;
}

function problem(seed: number, setting = SETTING) {
  const rand = testRandom(seed);
  // Clustered inputs, so that samples' logits move together as in image data.
  const centres = Array.from({ length: CLASSES }, () =>
    Array.from({ length: INPUTS }, () => setting.scale * (2 * rand() - 1)),
  );
  const y = Int32Array.from({ length: setting.n }, () => Math.floor(rand() * CLASSES));
  const x = new Float64Array(setting.n * INPUTS);
  for (let i = 0; i < setting.n; i++) {
    for (let j = 0; j < INPUTS; j++) {
      x[i * INPUTS + j] = centres[y[i]!]![j]! + setting.scale * 0.8 * (2 * rand() - 1);
    }
  }
  const batches: number[][] = [];
  for (let e = 0; e < setting.epochs; e++) {
    const order = Array.from({ length: setting.n }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (let s = 0; s < setting.n; s += setting.batchSize) {
      batches.push(order.slice(s, s + setting.batchSize));
    }
  }
  const weights = sgd(setting, x, y, batches, new Set());
  const runUpTo = (steps: number): SoftmaxRun => ({
    classes: CLASSES,
    inputs: INPUTS,
    x,
    y,
    lambda: setting.lambda,
    clip: setting.clip,
    steps,
    step: (t) => ({
      eta: setting.eta * setting.decay ** t,
      batch: batches[t]!,
      weights: weights[t]!,
    }),
    finalWeights: weights[steps]!,
  });
  return { x, y, batches, weights, runUpTo, steps: batches.length, rand };
}

const distance = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.hypot(...Array.from(a, (v, i) => v - b[i]!));

describe('softmaxRemovalBound', () => {
  const p = problem(7);
  const full = p.runUpTo(p.steps);
  const constants = softmaxRemovalConstants(full);

  it('the run exercises clipping and steps where ||I - eta H|| > 1', () => {
    expect(Array.from(constants.gradientNorm).some((g) => g > SETTING.clip)).toBe(true);
    const expanding = constants.curvature.some(
      (mu, t) => SETTING.eta * SETTING.decay ** t * (SETTING.lambda + mu) > 2,
    );
    expect(expanding).toBe(true);
  });

  it('holds after every step, first and second order, against exact retraining', () => {
    const rand = testRandom(11);
    for (const size of [1, 3, 8]) {
      const forget = pick(rand, SETTING.n, size);
      const retrained = sgd(SETTING, p.x, p.y, p.batches, new Set(forget));
      const whole = softmaxRemovalBound({ run: full, constants, forget });
      expect(whole.certified).toBe(true);
      for (let t = Math.max(1, whole.exactPrefix); t <= p.steps; t++) {
        const truncated = softmaxRemovalBound({
          run: p.runUpTo(t),
          constants: sliceConstants(constants, t),
          forget,
          exactPrefix: whole.exactPrefix,
          attempts: 1,
        });
        // The same recursion: the truncated run's final bound is the whole run's bound at t.
        expect(truncated.predicted.bound).toBeCloseTo(whole.perStep[t]!, 12);
        expect(distance(retrained[t]!, truncated.predicted.weights)).toBeLessThanOrEqual(
          truncated.predicted.bound,
        );
        const second = distance(retrained[t]!, truncated.secondOrder.weights);
        const first = distance(retrained[t]!, truncated.firstOrder.weights);
        expect(second).toBeLessThanOrEqual(truncated.secondOrder.bound);
        expect(first).toBeLessThanOrEqual(truncated.firstOrder.bound);
      }
      const trueSecond = distance(retrained[p.steps]!, whole.secondOrder.weights);
      // Informative: within two orders of magnitude of the truth here.
      expect(whole.secondOrder.bound / trueSecond).toBeLessThan(100);
    }
  });

  it('holds for chosen sets: one class, the largest gradients, samples of clipped steps', () => {
    const oneClass = Array.from({ length: SETTING.n }, (_, i) => i)
      .filter((i) => p.y[i] === 0)
      .slice(0, 6);
    const clippedSteps = Array.from(constants.gradientNorm.keys()).filter(
      (t) => constants.gradientNorm[t]! > SETTING.clip,
    );
    const inClipped = [...new Set(clippedSteps.flatMap((t) => p.batches[t]!))].slice(0, 6);
    const final = p.weights[p.steps]!;
    const byLoss = Array.from({ length: SETTING.n }, (_, i) => i)
      .map((i) => ({ i, g: Math.hypot(...gradient(final, p.x, p.y, [i], 1, 0)) }))
      .sort((a, b) => b.g - a.g)
      .slice(0, 6)
      .map((e) => e.i);
    for (const forget of [oneClass, inClipped, byLoss]) {
      const retrained = sgd(SETTING, p.x, p.y, p.batches, new Set(forget))[p.steps]!;
      const bound = softmaxRemovalBound({ run: full, constants, forget });
      expect(bound.certified).toBe(true);
      expect(distance(retrained, bound.secondOrder.weights)).toBeLessThanOrEqual(
        bound.secondOrder.bound,
      );
      expect(distance(retrained, bound.firstOrder.weights)).toBeLessThanOrEqual(
        bound.firstOrder.bound,
      );
    }
  });

  it('replays further when the bound cannot be carried through a step', () => {
    const forget = [0, 7, 13];
    const retrained = sgd(SETTING, p.x, p.y, p.batches, new Set(forget))[p.steps]!;
    const once = softmaxRemovalBound({ run: full, constants, forget, exactPrefix: 0, attempts: 1 });
    expect(once.certified).toBe(false);
    expect(once.refusal).toMatch(/replay further/);
    expect(once.secondOrder.bound).toBe(Number.POSITIVE_INFINITY);
    const retried = softmaxRemovalBound({ run: full, constants, forget, exactPrefix: 0 });
    expect(retried.certified).toBe(true);
    expect(retried.exactPrefix).toBeGreaterThan(0);
    expect(retried.passes).toBeGreaterThan(once.passes);
    expect(distance(retrained, retried.secondOrder.weights)).toBeLessThanOrEqual(
      retried.secondOrder.bound,
    );
  });

  it('replaying every step exactly gives the exact distance', () => {
    const forget = [2, 5, 9];
    const retrained = sgd(SETTING, p.x, p.y, p.batches, new Set(forget))[p.steps]!;
    const bound = softmaxRemovalBound({ run: full, constants, forget, exactPrefix: p.steps });
    const exact = distance(retrained, bound.secondOrder.weights);
    expect(bound.secondOrder.bound).toBeGreaterThanOrEqual(exact);
    expect(bound.secondOrder.bound).toBeLessThan(exact * (1 + 1e-6) + 1e-12);
    // Replaying every step costs exactly one retraining: nothing else is computed.
    expect(bound.passes).toBe(bound.retrainPasses);
  });

  it('takes the released weights as given, without recomputing them', () => {
    const forget = [3, 8, 21];
    const recomputed = softmaxUnlearnedWeights(full, forget);
    const own = softmaxRemovalBound({ run: full, constants, forget });
    expect(own.releasePasses).toBe(recomputed.passes);
    expect(Array.from(own.secondOrder.weights)).toEqual(Array.from(recomputed.secondOrder));
    const given = softmaxRemovalBound({ run: full, constants, forget, released: recomputed });
    expect(given.releasePasses).toBe(0);
    expect(given.passes).toBe(own.passes);
    expect(given.predicted.bound).toBe(own.predicted.bound);
    expect(given.firstOrder.bound).toBe(own.firstOrder.bound);
    // Float32 weights, as a store holds them, are bounded through their distance to the prediction.
    const stored = Float32Array.from(recomputed.firstOrder);
    const asStored = softmaxRemovalBound({
      run: full,
      constants,
      forget,
      released: { firstOrder: stored, secondOrder: recomputed.secondOrder },
    });
    const retrained = sgd(SETTING, p.x, p.y, p.batches, new Set(forget))[p.steps]!;
    expect(distance(retrained, stored)).toBeLessThanOrEqual(asStored.firstOrder.bound);
    expect(() =>
      softmaxRemovalBound({
        run: full,
        constants,
        forget,
        released: { firstOrder: stored.subarray(1), secondOrder: recomputed.secondOrder },
      }),
    ).toThrow(/released.firstOrder has 20 values, the run has 21/);
    const broken = Float64Array.from(recomputed.secondOrder);
    broken[4] = Number.NaN;
    expect(() =>
      softmaxRemovalBound({
        run: full,
        constants,
        forget,
        released: { firstOrder: stored, secondOrder: broken },
      }),
    ).toThrow(/released.secondOrder\[4\] is NaN/);
  });

  it('bounds other weights through the triangle inequality', () => {
    const forget = [1, 4];
    const bound = softmaxRemovalBound({ run: full, constants, forget });
    const retrained = sgd(SETTING, p.x, p.y, p.batches, new Set(forget))[p.steps]!;
    const other = Float64Array.from(bound.firstOrder.weights, (v, i) => v + (i % 3) * 1e-3);
    expect(distance(retrained, other)).toBeLessThanOrEqual(removalBoundFor(bound, other));
  });

  it('refuses bad input with errors that name it', () => {
    expect(() => softmaxRemovalBound({ run: full, constants, forget: [SETTING.n] })).toThrow(
      /not a row of the training set/,
    );
    expect(() => softmaxRemovalBound({ run: full, constants, forget: [3, 3] })).toThrow(
      /appears twice/,
    );
    expect(() => softmaxRemovalBound({ run: full, constants, forget: [] })).toThrow(/empty/);
    expect(() =>
      softmaxRemovalBound({ run: full, constants: sliceConstants(constants, 3), forget: [1] }),
    ).toThrow(/constants cover 3 steps/);
  });
});

describe('the covariance lemma behind the segment curvature', () => {
  it('S(z + delta) <= e^{range(delta)} S(z) in PSD order', () => {
    const rand = testRandom(3);
    for (let trial = 0; trial < 200; trial++) {
      const k = 2 + Math.floor(rand() * 4);
      const z = Array.from({ length: k }, () => 4 * (2 * rand() - 1));
      const delta = Array.from({ length: k }, () => 2 * (2 * rand() - 1));
      const range = Math.max(...delta) - Math.min(...delta);
      const s0 = covariance(z);
      const s1 = covariance(z.map((v, i) => v + delta[i]!));
      const gap = s0.map((row, r) => row.map((v, c) => Math.exp(range) * v - s1[r]![c]!));
      expect(Math.min(...jacobiEigenvalues(gap))).toBeGreaterThan(-1e-12);
    }
  });
});

function covariance(z: readonly number[]): number[][] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  const pr = e.map((v) => v / total);
  return pr.map((a, r) => pr.map((b, c) => (r === c ? a : 0) - a * b));
}

function pick(rand: () => number, n: number, size: number): number[] {
  const out = new Set<number>();
  while (out.size < size) out.add(Math.floor(rand() * n));
  return [...out];
}

function sliceConstants(c: { curvature: Float64Array; gradientNorm: Float64Array }, steps: number) {
  return { curvature: c.curvature.slice(0, steps), gradientNorm: c.gradientNorm.slice(0, steps) };
}
