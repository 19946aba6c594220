// A rigorous bound on the distance between unlearned weights and the weights that retraining
// without a deletion set would give, for L2-regularised softmax regression, along a recorded run.
// The derivation, with every inequality and its source, is docs/derivations/removal-bound.md.
//
// In short: predict the retrained trajectory by the second-order path w_t + w'_t + w''_t / 2
// (docs/method.md), replay the retraining exactly for a short prefix where the run is near the
// edge of stability, and from there carry a bound b_t >= ||retrained_t - predicted_t|| through
//   b_{t+1} = rho~_t b_t + ||defect_t||,
// where defect_t is how far the predicted path is from one exact retraining step taken from it
// (computed, not bounded) and rho~_t bounds ||I - eta_t H~_t|| for the retained batch's Hessian
// anywhere within b_t of the prediction (certified from the run's own curvature).
import { LetheError } from '@lethe/core';
import {
  accumulateOuter,
  augmentedSquaredNorm,
  batchLogits,
  clipJacobianApply,
  covarianceApply,
  norm,
  softmaxRows,
  thirdApply,
} from './softmax-batch.js';
import {
  certifiedDataCurvature,
  certifiesDataCurvature,
  type SoftmaxStepNormQuery,
} from './softmax-step-norm.js';
import { requireNonNegative, requirePositive } from './validate.js';

/** Relative margin on each step's bound for the rounding of its float64 evaluation. */
const ROUNDING_MARGIN = 1e-9;

/**
 * One recorded softmax-regression run, as the bound reads it: what the per-step norms read
 * (lambda, the inputs, each step's eta, batch and w_t), plus what retraining needs.
 */
export interface SoftmaxRun extends Omit<SoftmaxStepNormQuery, 'onStep'> {
  /** The gradient-clipping threshold C (Infinity for none). */
  readonly clip: number;
  /** Labels, one per row of x. */
  readonly y: ArrayLike<number>;
  /** w_T, the weights after the last step. */
  readonly finalWeights: ArrayLike<number>;
}

/** What the bound needs from the run itself, computed once per run (during precompute). */
export interface SoftmaxRemovalConstants {
  /** Certified upper bounds on lambda_max of each step's data Hessian at w_t. */
  readonly curvature: Float64Array;
  /** ||g_t||, each step's full-batch gradient norm (where clipping acts). */
  readonly gradientNorm: Float64Array;
}

export interface SoftmaxRemovalQuery {
  readonly run: SoftmaxRun;
  readonly constants: SoftmaxRemovalConstants;
  /** The deletion set: rows of x, each once. */
  readonly forget: readonly number[];
  /** Steps replayed exactly before the bound takes over (default: chosen from the constants). */
  readonly exactPrefix?: number;
  /** Longer prefixes tried when the bound cannot be carried through a step (default 6 tries). */
  readonly attempts?: number;
  readonly onStep?: (done: number, total: number) => void;
}

export interface SoftmaxRemovalBound {
  /** Whether a finite bound was carried to the end (false: every attempt met a refusal). */
  readonly certified: boolean;
  /** Why the last attempt stopped, when not certified. */
  readonly refusal?: string;
  /** The steps retrained exactly before the bound took over. */
  readonly exactPrefix: number;
  /**
   * The bound's own prediction of the retrained weights (the second-order path, plus the known
   * error at the end of the prefix carried by the run's linearisation) and the bound on its
   * distance to retraining: the tightest estimate here, and what removalBoundFor starts from.
   */
  readonly predicted: { readonly weights: Float64Array; readonly bound: number };
  /** w_T + w'_T + w''_T / 2 and a bound on its distance to retraining. */
  readonly secondOrder: { readonly weights: Float64Array; readonly bound: number };
  /** w_T + w'_T (the sum of the first-order approximators) and its bound. */
  readonly firstOrder: { readonly weights: Float64Array; readonly bound: number };
  /** The bound on ||retrained_t - predicted_t|| after each step t (NaN before the prefix ends). */
  readonly perStep: Float64Array;
  /** Batch passes spent (one pass: |B| x d multiply-adds), over every attempt. */
  readonly passes: number;
  /** Batch passes of one retraining, for comparison (two per step). */
  readonly retrainPasses: number;
}

/**
 * The per-run constants: each step's certified curvature and gradient norm. One power iteration
 * and Cholesky test of a (|B| classes)-sized matrix per step.
 */
export function softmaxRemovalConstants(
  run: SoftmaxRun,
  onStep?: (done: number, total: number) => void,
): SoftmaxRemovalConstants {
  validateRun(run, 'softmaxRemovalConstants');
  const curvature = new Float64Array(run.steps);
  const gradientNorm = new Float64Array(run.steps);
  for (let t = 0; t < run.steps; t++) {
    const { batch, weights } = run.step(t);
    curvature[t] = certifiedDataCurvature(run.x, run.inputs, run.classes, { batch }, weights);
    gradientNorm[t] = norm(fullGradient(run, weights, batch));
    onStep?.(t + 1, run.steps);
  }
  return { curvature, gradientNorm };
}

/**
 * Bounds ||w_T + w'_T + w''_T/2 - w^{-U}_T|| (second order) and ||w_T + w'_T - w^{-U}_T|| (first
 * order) for the deletion set U, where w^{-U} is the exact retraining without U (same batches
 * less U, denominators |B_t|, same clipping). Costs a few retrainings' worth of batch passes:
 * the check it offers is rigorous, not cheap (docs/derivations/removal-bound.md says why).
 */
export function softmaxRemovalBound(query: SoftmaxRemovalQuery): SoftmaxRemovalBound {
  const where = 'softmaxRemovalBound';
  const { run, constants } = query;
  validateRun(run, where);
  if (constants.curvature.length !== run.steps || constants.gradientNorm.length !== run.steps) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: the constants cover ${constants.curvature.length} steps, the run has ${run.steps}; compute them with softmaxRemovalConstants on this run.`,
    );
  }
  const forget = validateForget(query.forget, run.y.length, where);
  let prefix = query.exactPrefix ?? defaultPrefix(run, constants);
  if (!(Number.isInteger(prefix) && prefix >= 0 && prefix <= run.steps)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: exactPrefix = ${prefix}; pass a whole number of steps in 0..${run.steps}.`,
    );
  }
  const attempts = query.attempts ?? 6;
  let passes = 0;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= attempts || prefix === run.steps;
    // Only the last attempt's weights are returned: an earlier one stops where it is refused.
    const result = boundFrom(run, constants, forget, prefix, !last, query.onStep);
    passes += result.passes;
    if (result.refusedAt === null || last) {
      return {
        certified: result.refusedAt === null,
        ...(result.refusedAt === null ? {} : { refusal: result.refusal }),
        exactPrefix: prefix,
        predicted: { weights: result.predicted, bound: result.bound },
        secondOrder: { weights: result.second, bound: result.secondBound },
        firstOrder: { weights: result.first, bound: result.firstBound },
        perStep: result.perStep,
        passes,
        retrainPasses: 2 * run.steps,
      };
    }
    // Replay past the step that refused, by at least a sixteenth of the run, so that a few
    // attempts reach the calm part of the run.
    const further = Math.max(result.refusedAt - prefix, Math.ceil(run.steps / 16));
    prefix = Math.min(run.steps, result.refusedAt + 1 + further);
  }
}

/** The bound for other weights: ||retrained - v|| <= bound + ||predicted - v||. */
export function removalBoundFor(bound: SoftmaxRemovalBound, weights: ArrayLike<number>): number {
  const predicted = bound.predicted.weights;
  if (weights.length !== predicted.length) {
    throw new LetheError(
      'shape-mismatch',
      `removalBoundFor: ${weights.length} weights given, the run has ${predicted.length}.`,
    );
  }
  let s = 0;
  for (let i = 0; i < predicted.length; i++) s += (predicted[i]! - weights[i]!) ** 2;
  return bound.predicted.bound + Math.sqrt(s) * (1 + ROUNDING_MARGIN);
}

/**
 * The prefix the constants suggest: past the last step near the edge of stability
 * (eta_t (lambda + mu_t) > 1.25), where any slack in the segment's curvature tips
 * ||I - eta H|| over 1 and the bound grows.
 */
function defaultPrefix(run: SoftmaxRun, constants: SoftmaxRemovalConstants): number {
  let prefix = 0;
  for (let t = 0; t < run.steps; t++) {
    if (run.step(t).eta * (run.lambda + constants.curvature[t]!) > 1.25) prefix = t + 1;
  }
  return prefix;
}

interface Attempt {
  /** The bound on ||retrained_T - predicted||. */
  readonly bound: number;
  readonly predicted: Float64Array;
  readonly second: Float64Array;
  readonly secondBound: number;
  readonly first: Float64Array;
  readonly firstBound: number;
  readonly perStep: Float64Array;
  readonly refusedAt: number | null;
  readonly refusal: string;
  readonly passes: number;
}

function boundFrom(
  run: SoftmaxRun,
  constants: SoftmaxRemovalConstants,
  forget: Set<number>,
  prefix: number,
  stopOnRefusal: boolean,
  onStep: ((done: number, total: number) => void) | undefined,
): Attempt {
  const { classes, lambda, clip, y } = run;
  const d = classes * (run.inputs + 1);
  const u1 = new Float64Array(d); // w'_t: the sum of the first-order approximators
  const u2 = new Float64Array(d); // w''_t
  // The known error at the end of the prefix, carried by the run's linearisation: the prediction
  // restarts from the exact state there instead of drifting from it.
  const kv = new Float64Array(d);
  const retrained = Float64Array.from(run.step(0).weights); // exact, during the prefix
  const perStep = new Float64Array(run.steps + 1).fill(Number.NaN);
  let bound = Number.NaN;
  let passes = 0;
  let refusedAt: number | null = null;
  let refusal = '';
  const predictedAt = (w: ArrayLike<number>) => {
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) out[i] = w[i]! + u1[i]! + 0.5 * u2[i]! + kv[i]!;
    return out;
  };
  for (let t = 0; t < run.steps; t++) {
    const { eta, batch, weights: w } = run.step(t);
    const nB = batch.length;
    if (t === prefix) {
      const predicted = predictedAt(w);
      for (let i = 0; i < d; i++) kv[i] = retrained[i]! - predicted[i]!;
      bound = distance(retrained, predictedAt(w)) + anchorSlack(retrained);
      perStep[t] = bound;
    }
    const zW = batchLogits(run, w, batch);
    const p = softmaxRows(zW, classes);
    const z1 = batchLogits(run, u1, batch);
    const z2 = batchLogits(run, u2, batch);
    const zk = t >= prefix ? batchLogits(run, kv, batch) : new Float64Array(zW.length);
    passes += t >= prefix ? 4 : 3;
    // The prediction's logit shift from w_t.
    const zV = new Float64Array(zW.length);
    for (let i = 0; i < zV.length; i++) zV[i] = z1[i]! + 0.5 * z2[i]! + zk[i]!;

    // The bounded step (t >= prefix): checks and contraction, from the prediction at step t.
    let rho = 0;
    let stepped: Float64Array | null = null;
    if (t >= prefix && refusedAt === null) {
      const predicted = predictedAt(w);
      const zHat = new Float64Array(zW.length);
      for (let i = 0; i < zHat.length; i++) zHat[i] = zW[i]! + zV[i]!;
      const gHat = retainedGradient(run, predicted, zHat, batch, forget);
      passes += 1;
      const gHatNorm = norm(gHat);
      let mu = segmentCurvature(run, constants.curvature[t]!, p, zV, batch, bound);
      // The cheap bound on the curvature is loose where many rows' logits move; when it costs
      // contraction or room below the clipping threshold, prove a smaller value directly on the
      // segment's own Gram matrix at the prediction (one Cholesky factorisation each).
      const contracting = (2 - 2 * eta * lambda) / eta;
      const unclipped = (clip - gHatNorm) / bound - lambda;
      const targets = [Math.min(contracting, unclipped), contracting].filter(
        (target) => target > 0 && target < mu,
      );
      const rows = targets.length > 0 ? segmentRows(run, batch, forget, bound) : null;
      for (const target of targets) {
        passes += 1;
        if (certifiesDataCurvature(run.x, run.inputs, classes, rows!, predicted, target)) {
          mu = target;
          break;
        }
      }
      const smooth = lambda + mu;
      // Clipping: P(F(w')) - P(F(w^)) = J (F(w') - F(w^)) with J the mean of the projection's
      // Jacobian on the segment (symmetric, 0 <= J <= I, = I inside the ball), so
      // I - eta J H~ = (I - eta H~) + eta (I - J) H~, and ||I - J|| is at most the share of the
      // segment outside the ball: 0 when ||g^|| + smooth b <= C, all of it when g^ is clipped.
      const outside =
        gHatNorm > clip ? 1 : Math.max(0, Math.min(1, 1 - (clip - gHatNorm) / (smooth * bound)));
      rho =
        Math.max(Math.abs(1 - eta * lambda), Math.abs(1 - eta * smooth)) +
        eta * smooth * (Number.isNaN(outside) ? 0 : outside);
      if (!Number.isFinite(rho)) {
        refusedAt = t;
        refusal = `step ${t}: the bound is no longer finite (curvature ${mu}); replay further.`;
        if (stopOnRefusal) break;
      } else {
        const scale = gHatNorm > clip ? clip / gHatNorm : 1;
        stepped = predicted;
        for (let i = 0; i < d; i++) stepped[i] = predicted[i]! - eta * scale * gHat[i]!;
      }
    }

    // The exact retraining step, during the prefix.
    if (t < prefix) {
      const zR = batchLogits(run, retrained, batch);
      const gR = retainedGradient(run, retrained, zR, batch, forget);
      passes += 2;
      const gNorm = norm(gR);
      const scale = gNorm > clip ? clip / gNorm : 1;
      for (let i = 0; i < d; i++) retrained[i]! -= eta * scale * gR[i]!;
    }

    // The second-order path: w' and w'' one step on (docs/method.md, second-order recollection).
    const c1 = new Float64Array(nB * classes);
    const c2 = new Float64Array(nB * classes);
    for (let k = 0; k < nB; k++) {
      const at = k * classes;
      const s1 = covarianceApply(p, z1, at, classes);
      const s2 = covarianceApply(p, z2, at, classes);
      const third = thirdApply(p, z1, at, classes);
      const forgotten = forget.has(batch[k]!);
      for (let c = 0; c < classes; c++) {
        c1[at + c] = s1[c]! / nB;
        c2[at + c] = (s2[c]! + third[c]! - (forgotten ? 2 * s1[c]! : 0)) / nB;
      }
      if (forgotten) {
        // The forgotten sample's gradient enters w' with the opposite sign: q1 = H w' - (1/|B|) grad l_u.
        const label = y[batch[k]!]!;
        for (let c = 0; c < classes; c++) {
          c1[at + c]! -= (p[at + c]! - (c === label ? 1 : 0)) / nB;
        }
      }
    }
    const q1 = scaled(u1, lambda);
    const q2 = scaled(u2, lambda);
    accumulateOuter(run, q1, c1, batch);
    accumulateOuter(run, q2, c2, batch);
    passes += 2;
    let qk: Float64Array | null = null;
    if (t >= prefix) {
      const ck = new Float64Array(nB * classes);
      for (let k = 0; k < nB; k++) {
        const s = covarianceApply(p, zk, k * classes, classes);
        for (let c = 0; c < classes; c++) ck[k * classes + c] = s[c]! / nB;
      }
      qk = scaled(kv, lambda);
      accumulateOuter(run, qk, ck, batch);
      passes += 1;
    }
    const gNorm = constants.gradientNorm[t]!;
    if (gNorm > clip) {
      const g = fullGradient(run, w, batch);
      passes += 1;
      clipJacobianApply(g, gNorm, clip, q1);
      clipJacobianApply(g, gNorm, clip, q2);
      if (qk !== null) clipJacobianApply(g, gNorm, clip, qk);
    }
    for (let i = 0; i < d; i++) {
      u1[i]! -= eta * q1[i]!;
      u2[i]! -= eta * q2[i]!;
    }
    if (qk !== null) for (let i = 0; i < d; i++) kv[i]! -= eta * qk[i]!;

    if (stepped !== null) {
      const next = predictedAt(t + 1 < run.steps ? run.step(t + 1).weights : run.finalWeights);
      const defect = distance(stepped, next);
      bound = (rho * bound + defect) * (1 + ROUNDING_MARGIN);
      perStep[t + 1] = bound;
    }
    onStep?.(t + 1, run.steps);
  }
  if (prefix === run.steps) {
    // Replayed to the end: the prediction is the retraining itself.
    const predicted = predictedAt(run.finalWeights);
    for (let i = 0; i < d; i++) kv[i]! += retrained[i]! - predicted[i]!;
    bound = distance(retrained, predictedAt(run.finalWeights)) + anchorSlack(retrained);
    perStep[run.steps] = bound;
  }
  // The bound is on the distance to the prediction; the weights a user releases are the
  // second-order (w_T + w'_T + w''_T/2) and first-order ones, a known distance away from it.
  const predicted = predictedAt(run.finalWeights);
  const second = new Float64Array(d);
  const first = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    second[i] = run.finalWeights[i]! + u1[i]! + 0.5 * u2[i]!;
    first[i] = run.finalWeights[i]! + u1[i]!;
  }
  const finite = refusedAt === null ? bound : Number.POSITIVE_INFINITY;
  return {
    bound: finite,
    predicted,
    second,
    secondBound: finite + distance(predicted, second),
    first,
    firstBound: finite + distance(predicted, first),
    perStep,
    refusedAt,
    refusal,
    passes,
  };
}

/**
 * mu~ >= lambda_max of the retained batch's data Hessian anywhere within `bound` of the
 * prediction w_t + V_t. Softmax's covariance S(z + delta) <= e^{range(delta)} S(z) (PSD order), so
 * with R_i >= range((V + e) x~_i) and A_i = S_i (x) x~_i x~_i^T / |B| at w_t (whose sum has
 * lambda_max <= mu_t, the run's constant), the Hessian is at most sum_i e^{R_i} A_i, and for any
 * tau, lambda_max(sum_i c_i A_i) <= e^tau mu_t + sum_{c_i > e^tau} (c_i - e^tau) ||A_i||.
 */
function segmentCurvature(
  run: SoftmaxRun,
  curvature: number,
  p: Float64Array,
  shift: Float64Array,
  batch: ArrayLike<number>,
  bound: number,
): number {
  const { classes } = run;
  const nB = batch.length;
  const reach = new Float64Array(nB);
  const weight = new Float64Array(nB);
  for (let k = 0; k < nB; k++) {
    const at = k * classes;
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    let spread = 0;
    for (let c = 0; c < classes; c++) {
      const v = shift[at + c]!;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      const q = p[at + c]!;
      spread = Math.max(spread, 2 * q * (1 - q)); // Gershgorin: lambda_max(S) <= max_c 2 p_c (1 - p_c)
    }
    const xx = augmentedSquaredNorm(run, batch[k]!);
    reach[k] = (hi - lo + Math.SQRT2 * bound * Math.sqrt(xx)) * (1 + ROUNDING_MARGIN);
    weight[k] = (Math.min(0.5, spread) * xx) / nB;
  }
  let best = Number.POSITIVE_INFINITY;
  for (const tau of [0, ...reach]) {
    const base = Math.exp(tau);
    let value = base * curvature;
    for (let k = 0; k < nB; k++) {
      const c = Math.exp(reach[k]!);
      if (c > base) value += (c - base) * weight[k]!;
    }
    best = Math.min(best, value);
  }
  return best * (1 + ROUNDING_MARGIN);
}

/**
 * The retained rows of the batch with weights e^{sqrt(2) b ||x~_i||}: by the covariance lemma,
 * their weighted data Hessian at the prediction bounds the Hessian anywhere within b of it.
 */
function segmentRows(
  run: SoftmaxRun,
  batch: ArrayLike<number>,
  forget: Set<number>,
  bound: number,
): { batch: number[]; denominator: number; rowWeights: Float64Array } {
  const kept = Array.from(batch).filter((row) => !forget.has(row));
  const rowWeights = Float64Array.from(
    kept,
    (row) =>
      Math.exp(Math.SQRT2 * bound * Math.sqrt(augmentedSquaredNorm(run, row))) *
      (1 + ROUNDING_MARGIN),
  );
  return { batch: kept, denominator: batch.length, rowWeights };
}

/** grad of (1/|B|) sum over the batch's retained rows + (lambda/2)||w||^2, from logits z at w. */
function retainedGradient(
  run: SoftmaxRun,
  w: ArrayLike<number>,
  z: Float64Array,
  batch: ArrayLike<number>,
  forget: ReadonlySet<number>,
): Float64Array {
  const { classes } = run;
  const p = softmaxRows(z, classes);
  const coeffs = new Float64Array(p.length);
  for (let k = 0; k < batch.length; k++) {
    if (forget.has(batch[k]!)) continue;
    const label = run.y[batch[k]!]!;
    for (let c = 0; c < classes; c++) {
      coeffs[k * classes + c] = (p[k * classes + c]! - (c === label ? 1 : 0)) / batch.length;
    }
  }
  const g = scaled(w, run.lambda);
  accumulateOuter(run, g, coeffs, batch);
  return g;
}

/** The full batch's gradient at w (the recorded step's, where clipping acts). */
function fullGradient(
  run: SoftmaxRun,
  w: ArrayLike<number>,
  batch: ArrayLike<number>,
): Float64Array {
  return retainedGradient(run, w, batchLogits(run, w, batch), batch, NONE);
}

const NONE: ReadonlySet<number> = new Set();

/** Covers the rounding of re-adding the prediction's parts after anchoring it to the retraining. */
function anchorSlack(retrained: Float64Array): number {
  return 1e-12 * (1 + norm(retrained));
}

function scaled(v: ArrayLike<number>, factor: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = factor * v[i]!;
  return out;
}

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s) * (1 + ROUNDING_MARGIN);
}

function validateRun(run: SoftmaxRun, where: string): void {
  requireNonNegative(where, 'lambda', run.lambda);
  requirePositive(where, 'clip', run.clip);
  const { classes, inputs, x, y } = run;
  if (!Number.isInteger(classes) || classes < 2 || !Number.isInteger(inputs) || inputs < 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: classes = ${classes} and inputs = ${inputs}; expected integers >= 2 and >= 1.`,
    );
  }
  if (x.length !== y.length * inputs) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: x has ${x.length} values and y ${y.length} labels; x must hold ${inputs} inputs per label, row-major.`,
    );
  }
  for (let i = 0; i < y.length; i++) {
    const label = y[i]!;
    if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
      throw new LetheError(
        'invalid-argument',
        `${where}: label ${label} of row ${i} is not a class in 0..${classes - 1}.`,
      );
    }
  }
  if (!Number.isInteger(run.steps) || run.steps < 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: steps = ${run.steps}; pass the run's number of steps.`,
    );
  }
  const d = classes * (inputs + 1);
  if (run.finalWeights.length !== d) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: finalWeights has ${run.finalWeights.length} values; softmax regression with ${classes} classes and ${inputs} inputs has ${d} (layout [classes, inputs + 1]).`,
    );
  }
}

function validateForget(ids: readonly number[], n: number, where: string): Set<number> {
  const out = new Set<number>();
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id < n)) {
      throw new LetheError(
        'unknown-id',
        `${where}: forget id ${id} is not a row of the training set (0..${n - 1}).`,
      );
    }
    if (out.has(id)) {
      throw new LetheError(
        'duplicate-id',
        `${where}: forget id ${id} appears twice; pass each id once.`,
      );
    }
    out.add(id);
  }
  if (out.size === 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: the deletion set is empty; pass at least one id.`,
    );
  }
  return out;
}

/**
 * The exact retraining without `forget` in float64 (same batches less the forgotten rows,
 * denominators |B_t|, the same clipping): what softmaxRemovalBound bounds the distance to, for
 * audits and tests. It replays every step: a retraining's cost.
 */
export function softmaxRetrain(run: SoftmaxRun, forget: readonly number[]): Float64Array {
  const where = 'softmaxRetrain';
  validateRun(run, where);
  const skip = validateForget(forget, run.y.length, where);
  const w = Float64Array.from(run.step(0).weights);
  for (let t = 0; t < run.steps; t++) {
    const { eta, batch } = run.step(t);
    const g = retainedGradient(run, w, batchLogits(run, w, batch), batch, skip);
    const gNorm = norm(g);
    const scale = gNorm > run.clip ? run.clip / gNorm : 1;
    for (let i = 0; i < w.length; i++) w[i]! -= eta * scale * g[i]!;
  }
  return w;
}
