// A rigorous bound on the distance between unlearned weights and the weights that retraining
// without a deletion set would give, for L2-regularised softmax regression, along a recorded run.
// The derivation, with every inequality and its source, is docs/derivations/removal-bound.md.
//
// In short: replay the retraining exactly for a prefix where the run is near the edge of
// stability; from there predict it by the second-order expansion about the recorded run
// (docs/method.md's recursions, started from the exact state), and carry a bound
// b_t >= ||retrained_t - predicted_t|| through
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
  /**
   * The unlearned weights the bound is for, as released (for instance w_T plus the sum of the
   * stored approximators, and the second-order weights). Default: recomputed along the run in
   * float64 (softmaxUnlearnedWeights; its cost is `releasePasses`, apart from the bound's).
   */
  readonly released?: ReleasedWeights;
  readonly onStep?: (done: number, total: number) => void;
}

/** First-order (w_T + w'_T) and second-order (w_T + w'_T + w''_T / 2) unlearned weights. */
export interface ReleasedWeights {
  readonly firstOrder: ArrayLike<number>;
  readonly secondOrder: ArrayLike<number>;
}

export interface SoftmaxRemovalBound {
  /** Whether a finite bound was carried to the end (false: every attempt met a refusal). */
  readonly certified: boolean;
  /** Why the last attempt stopped, when not certified. */
  readonly refusal?: string;
  /** The steps retrained exactly before the bound took over. */
  readonly exactPrefix: number;
  /**
   * The bound's own prediction of the retrained weights (the second-order expansion about the
   * recorded run from the exact state at the end of the prefix) and the bound on its distance to
   * retraining: the tightest estimate here, and what removalBoundFor starts from. When not
   * certified: the released second-order weights, with an infinite bound.
   */
  readonly predicted: { readonly weights: Float64Array; readonly bound: number };
  /** w_T + w'_T + w''_T / 2 and a bound on its distance to retraining. */
  readonly secondOrder: { readonly weights: Float64Array; readonly bound: number };
  /** w_T + w'_T (the sum of the first-order approximators) and its bound. */
  readonly firstOrder: { readonly weights: Float64Array; readonly bound: number };
  /** The bound on ||retrained_t - predicted_t|| after each step t (NaN before the prefix ends). */
  readonly perStep: Float64Array;
  /** The bound's batch passes (one pass: |B| x d multiply-adds), over every attempt. */
  readonly passes: number;
  /** Batch passes spent recomputing the unlearned weights (0 when `released` was given). */
  readonly releasePasses: number;
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
 * less U, denominators |B_t|, same clipping). The bound replays the retraining exactly for a
 * prefix and carries a recursion from there: between one and a few retrainings' worth of batch
 * passes (`passes`), a rigorous check but not a cheap one (docs/derivations/removal-bound.md says
 * why). The unlearned weights themselves are taken from `released` when given (the store's), and
 * otherwise recomputed along the run (`releasePasses`).
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
  const recomputed = query.released === undefined ? unlearnedAlongRun(run, forget) : undefined;
  const released = query.released ?? recomputed!;
  validateReleased(released, run, where);
  const attempts = query.attempts ?? 6;
  // The exact retraining advances only forwards: a later attempt goes on from where the last
  // one's prefix ended, so the prefixes of all attempts together cost one replay of the longest.
  const replay = { step: 0, weights: Float64Array.from(run.step(0).weights) };
  let passes = 0;
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= attempts || prefix === run.steps;
    for (; replay.step < prefix; replay.step++) {
      retrainStep(run, replay.weights, replay.step, forget);
      passes += 2;
      query.onStep?.(replay.step + 1, run.steps);
    }
    const result = boundFrom(run, constants, forget, prefix, replay.weights, query.onStep);
    passes += result.passes;
    if (result.refusedAt === null || last) {
      const finite = result.refusedAt === null;
      // Refused: no prediction reached the end; the released weights stand in, unbounded.
      const predicted = finite
        ? { weights: result.predicted, bound: result.bound }
        : { weights: Float64Array.from(released.secondOrder), bound: Number.POSITIVE_INFINITY };
      return {
        certified: finite,
        ...(finite ? {} : { refusal: result.refusal }),
        exactPrefix: prefix,
        predicted,
        secondOrder: withBound(predicted, released.secondOrder),
        firstOrder: withBound(predicted, released.firstOrder),
        perStep: result.perStep,
        passes,
        releasePasses: recomputed?.passes ?? 0,
        retrainPasses: 2 * run.steps,
      };
    }
    // Replay past the step that refused, by at least a sixteenth of the run, so that a few
    // attempts reach the calm part of the run.
    const further = Math.max(result.refusedAt - prefix, Math.ceil(run.steps / 16));
    prefix = Math.min(run.steps, result.refusedAt + 1 + further);
  }
}

/**
 * The unlearned weights of a deletion set in float64, recomputed along the recorded run: the
 * first-order w_T + w'_T (the sum of the set's approximators) and the second-order
 * w_T + w'_T + w''_T / 2 (docs/method.md). Five or six batch passes per step (`passes`).
 */
export function softmaxUnlearnedWeights(run: SoftmaxRun, forget: readonly number[]): Recomputed {
  const where = 'softmaxUnlearnedWeights';
  validateRun(run, where);
  return unlearnedAlongRun(run, validateForget(forget, run.y.length, where));
}

interface Recomputed {
  readonly firstOrder: Float64Array;
  readonly secondOrder: Float64Array;
  readonly passes: number;
}

function unlearnedAlongRun(run: SoftmaxRun, skip: ReadonlySet<number>): Recomputed {
  const d = run.classes * (run.inputs + 1);
  const u1 = new Float64Array(d);
  const u2 = new Float64Array(d);
  let passes = 0;
  for (let t = 0; t < run.steps; t++) passes += pathStep(run, t, skip, u1, u2);
  const firstOrder = new Float64Array(d);
  const secondOrder = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    firstOrder[i] = run.finalWeights[i]! + u1[i]!;
    secondOrder[i] = firstOrder[i]! + 0.5 * u2[i]!;
  }
  return { firstOrder, secondOrder, passes };
}

function withBound(
  predicted: { readonly weights: Float64Array; readonly bound: number },
  weights: ArrayLike<number>,
): { readonly weights: Float64Array; readonly bound: number } {
  return { weights: Float64Array.from(weights), bound: boundThrough(predicted, weights) };
}

/** ||retrained - v|| <= ||retrained - predicted|| + ||predicted - v|| (triangle inequality). */
function boundThrough(
  predicted: { readonly weights: Float64Array; readonly bound: number },
  weights: ArrayLike<number>,
): number {
  return predicted.bound + distance(predicted.weights, weights);
}

function validateReleased(released: ReleasedWeights, run: SoftmaxRun, where: string): void {
  const d = run.classes * (run.inputs + 1);
  const named = [
    ['firstOrder', released.firstOrder],
    ['secondOrder', released.secondOrder],
  ] as const;
  for (const [name, v] of named) {
    if (v.length !== d) {
      throw new LetheError(
        'shape-mismatch',
        `${where}: released.${name} has ${v.length} values, the run has ${d}; pass the unlearned weights in the run's layout.`,
      );
    }
    for (let i = 0; i < d; i++) {
      if (!Number.isFinite(v[i]!)) {
        throw new LetheError(
          'invalid-argument',
          `${where}: released.${name}[${i}] is ${v[i]}; pass finite weights.`,
        );
      }
    }
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
  return boundThrough(bound.predicted, weights);
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
  readonly perStep: Float64Array;
  readonly refusedAt: number | null;
  readonly refusal: string;
  readonly passes: number;
}

/**
 * From the exact retraining at step `prefix` to the end: the prediction is the second-order
 * expansion of retraining about the recorded run from there, w_t + a_t + c_t / 2, where a and c
 * follow the first- and second-order recursions (the forgotten rows' weight 1 - s, s from 0 to
 * 1) from a = retrained - w and c = 0 at the prefix, the state moving along the straight line
 * from w to the retrained weights. At s = 1 that family is the retraining itself, so the
 * expansion predicts it; the recursion (R) bounds how far it is.
 */
function boundFrom(
  run: SoftmaxRun,
  constants: SoftmaxRemovalConstants,
  forget: Set<number>,
  prefix: number,
  retrained: Float64Array,
  onStep: ((done: number, total: number) => void) | undefined,
): Attempt {
  const { classes, lambda, clip } = run;
  const d = classes * (run.inputs + 1);
  const w0 = prefix < run.steps ? run.step(prefix).weights : run.finalWeights;
  const a = Float64Array.from(retrained, (v, i) => v - w0[i]!);
  const c = new Float64Array(d);
  const perStep = new Float64Array(run.steps + 1).fill(Number.NaN);
  const predictedAt = (w: ArrayLike<number>) => {
    const out = new Float64Array(d);
    for (let i = 0; i < d; i++) out[i] = w[i]! + a[i]! + 0.5 * c[i]!;
    return out;
  };
  // The prediction at the current step; stepped in place once its checks are done.
  let predicted = predictedAt(w0);
  let bound = distance(retrained, predicted) + anchorSlack(retrained);
  perStep[prefix] = bound;
  let passes = 0;
  for (let t = prefix; t < run.steps; t++) {
    const { eta, batch, weights: w } = run.step(t);
    const zW = batchLogits(run, w, batch);
    const p = softmaxRows(zW, classes);
    const za = batchLogits(run, a, batch);
    const zc = batchLogits(run, c, batch);
    passes += 3;
    // The prediction's logit shift from w_t.
    const zV = new Float64Array(zW.length);
    for (let i = 0; i < zV.length; i++) zV[i] = za[i]! + 0.5 * zc[i]!;

    // Checks and contraction, from the prediction at step t.
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
    const rho =
      Math.max(Math.abs(1 - eta * lambda), Math.abs(1 - eta * smooth)) +
      eta * smooth * (Number.isNaN(outside) ? 0 : outside);
    if (!Number.isFinite(rho)) {
      const refusal = `step ${t}: the bound is no longer finite (curvature ${mu}); replay further.`;
      return { bound: Number.POSITIVE_INFINITY, predicted, perStep, refusedAt: t, refusal, passes };
    }
    const scale = gHatNorm > clip ? clip / gHatNorm : 1;
    const stepped = predicted;
    for (let i = 0; i < d; i++) stepped[i]! -= eta * scale * gHat[i]!;

    passes += pathStep(run, t, forget, a, c, {
      zW,
      p,
      z1: za,
      z2: zc,
      gradientNorm: constants.gradientNorm[t]!,
    });
    const next = predictedAt(t + 1 < run.steps ? run.step(t + 1).weights : run.finalWeights);
    bound = (rho * bound + distance(stepped, next)) * (1 + ROUNDING_MARGIN);
    perStep[t + 1] = bound;
    predicted = next;
    onStep?.(t + 1, run.steps);
  }
  return {
    bound,
    predicted,
    perStep,
    refusedAt: null,
    refusal: '',
    passes,
  };
}

/** What a caller of pathStep has already computed at step t. */
interface KnownAtStep {
  /** Logits of w_t, u1 and u2 on the batch, and softmax(zW). */
  readonly zW: Float64Array;
  readonly p: Float64Array;
  readonly z1: Float64Array;
  readonly z2: Float64Array;
  /** ||g_t||, the recorded step's gradient norm (from the run's constants). */
  readonly gradientNorm: number;
}

/**
 * One step of the second-order path (docs/method.md, second-order recollection): the first- and
 * second-order derivatives u1, u2 of the run in the forgotten rows' weight, one step on, in
 * place. Returns the batch passes spent.
 */
function pathStep(
  run: SoftmaxRun,
  t: number,
  forget: ReadonlySet<number>,
  u1: Float64Array,
  u2: Float64Array,
  known?: KnownAtStep,
): number {
  const { classes, lambda, clip, y } = run;
  const { eta, batch, weights: w } = run.step(t);
  const nB = batch.length;
  let passes = 2;
  const zW = known?.zW ?? batchLogits(run, w, batch);
  const p = known?.p ?? softmaxRows(zW, classes);
  const z1 = known?.z1 ?? batchLogits(run, u1, batch);
  const z2 = known?.z2 ?? batchLogits(run, u2, batch);
  if (known === undefined) passes += 3;
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
      // The forgotten sample's gradient enters u1 with the opposite sign: q1 = H u1 - (1/|B|) grad l_u.
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
  // Where the recorded step clipped, the paths go through the clipping map's Jacobian there.
  if (clip < Number.POSITIVE_INFINITY && (known === undefined || known.gradientNorm > clip)) {
    const g = retainedGradient(run, w, zW, batch, NONE);
    const gNorm = norm(g);
    passes += 1;
    if (gNorm > clip) {
      clipJacobianApply(g, gNorm, clip, q1);
      clipJacobianApply(g, gNorm, clip, q2);
    }
  }
  for (let i = 0; i < u1.length; i++) {
    u1[i]! -= eta * q1[i]!;
    u2[i]! -= eta * q2[i]!;
  }
  return passes;
}

/** One exact retraining step without `forget`, in place (two batch passes). */
function retrainStep(
  run: SoftmaxRun,
  w: Float64Array,
  t: number,
  forget: ReadonlySet<number>,
): void {
  const { eta, batch } = run.step(t);
  const g = retainedGradient(run, w, batchLogits(run, w, batch), batch, forget);
  const gNorm = norm(g);
  const scale = gNorm > run.clip ? run.clip / gNorm : 1;
  for (let i = 0; i < w.length; i++) w[i]! -= eta * scale * g[i]!;
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
  for (let t = 0; t < run.steps; t++) retrainStep(run, w, t, skip);
  return w;
}
