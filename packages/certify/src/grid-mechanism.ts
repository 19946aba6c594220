// The release mechanism that is safe in floating point: snap the weights to a grid of step
// gamma (a power of two), add exact discrete Gaussian noise in grid units, and publish
// gamma * integer, which float32 holds exactly. No rounding follows the noise, so nothing in
// the published bits depends on the unnoised weights except through the noise's distribution
// (docs/method.md#noise-safe-in-floating-point).
//
// The guarantee, and what it costs against the continuous Gaussian:
// - Snapping moves each coordinate by at most gamma / 2, so two weight vectors at L2 distance
//   <= Delta snap to vectors at distance <= Delta + gamma sqrt(d): the released sensitivity.
// - The product of discrete Gaussians N_Z(0, s^2) on an integer query of L2 sensitivity D is
//   D^2 / (2 s^2)-zCDP (Canonne, Kamath, Steinke 2020, Theorem 14), hence RDP of order alpha
//   alpha D^2 / (2 s^2), converted to (epsilon, delta) as the accountant does (Balle et al.
//   2020, Theorem 21). The analytic Gaussian curve is not proven for the discrete one, so sigma
//   is calibrated on this conversion instead: a few percent more noise (`loss`).
import { LetheError } from '@lethe/core';
import { DiscreteGaussianSampler, RandomBits } from './discrete-gaussian.js';
import { smallestDoubleWhere } from './float-search.js';
import { analyticGaussianSigma } from './gaussian-mechanism.js';
import type { NoiseSource } from './noise.js';
import { DEFAULT_RDP_ORDERS, rdpToEpsilon } from './rdp.js';
import { requireOpenUnit, requirePositive } from './validate.js';

/** Integers below 2^24 in magnitude are exact in float32 at any power-of-two scale. */
const FLOAT32_EXACT = 2 ** 24;
/** Headroom for the noise on the grid: the discrete Gaussian exceeds 40 sigma with probability below 1e-340. */
const TAIL_SIGMAS = 40;
/** sigma / gamma is rounded up to this many fractional bits, so s^2 is an exact small rational. */
const SIGMA_FRACTION_BITS = 16;
/**
 * The coarsest grid float32 can carry: (2^24 - 1) 2^104 is float32's largest finite value, so
 * every gamma * integer below 2^24 in magnitude is finite exactly when gamma <= 2^104.
 */
const MAX_GAMMA = 2 ** 104;

export interface GridCalibration {
  /**
   * The bound on |w_i| the grid is sized for. Public when the caller declared it; 'observed'
   * when it was read off these weights (rounded up to a power of two), which makes the grid a
   * function of the data: declare a bound that holds for every neighbouring dataset instead.
   */
  readonly weightBound: { readonly value: number; readonly provenance: 'declared' | 'observed' };
  /** The noise's standard deviation in weight units (sigma = s * gamma). */
  readonly sigma: number;
  /** The grid step, a power of two. */
  readonly gamma: number;
  /** Delta + gamma sqrt(d): the sensitivity the noise is calibrated for. */
  readonly sensitivity: number;
  /** sigma over the analytic continuous-Gaussian sigma at the unsnapped sensitivity (>= 1). */
  readonly loss: number;
}

/** epsilon of the discrete Gaussian at sensitivity D and noise sigma (zCDP -> (epsilon, delta)). */
export function discreteGaussianEpsilon(sigma: number, sensitivity: number, delta: number): number {
  return rdpToEpsilon(sensitivity ** 2 / (2 * sigma ** 2), delta, DEFAULT_RDP_ORDERS).epsilon;
}

/**
 * The smallest sigma whose discrete Gaussian is (epsilon, delta) at `sensitivity` (> 0), or
 * Infinity when no finite double is (the bound squared overflows a double).
 */
function zcdpSigma(epsilon: number, delta: number, sensitivity: number): number {
  const holds = (sigma: number) => discreteGaussianEpsilon(sigma, sensitivity, delta) <= epsilon;
  let hi = sensitivity;
  while (!holds(hi)) {
    hi *= 2;
    if (!Number.isFinite(hi)) return Number.POSITIVE_INFINITY;
  }
  return smallestDoubleWhere(holds, 0, hi);
}

/** The finest power-of-two grid on which every released value stays below 2^23 steps. */
function gridFor(maxAbsWeight: number, sigma: number): number {
  return 2 ** Math.ceil(Math.log2((maxAbsWeight + TAIL_SIGMAS * sigma) / 2 ** 23));
}

/** Rounds sigma / gamma up to SIGMA_FRACTION_BITS fractional bits. */
function gridSigma(sigma: number, gamma: number): number {
  const scale = 2 ** SIGMA_FRACTION_BITS;
  return (Math.ceil((sigma / gamma) * scale) / scale) * gamma;
}

/**
 * Noise scale and grid for releasing `weights` with (epsilon, delta) at L2 sensitivity
 * `sensitivity`. The grid depends on sigma and sigma on the grid (through gamma sqrt(d)); a few
 * rounds reach the fixed point, since gamma only takes powers of two.
 */
export function calibrateGrid(query: {
  epsilon: number;
  delta: number;
  sensitivity: number;
  weights: Float32Array;
  /** A public bound on every |w_i|; default: the weights' own maximum, rounded up to 2^k. */
  weightBound?: number;
}): GridCalibration {
  const where = 'calibrateGrid';
  const epsilon = requirePositive(where, 'epsilon', query.epsilon);
  const delta = requireOpenUnit(where, 'delta', query.delta);
  // Sensitivity 0 needs no noise, and the accountant records no sigma = 0 release.
  const sensitivity = requirePositive(where, 'sensitivity', query.sensitivity);
  const { weights } = query;
  let observed = 0;
  for (const w of weights) observed = Math.max(observed, Math.abs(w));
  const declared = query.weightBound;
  if (declared !== undefined && !(declared > 0 && Number.isFinite(declared))) {
    throw new LetheError(
      'invalid-argument',
      `calibrateGrid: weightBound = ${declared}; pass a positive finite bound on |w_i| that holds for any neighbouring training set.`,
    );
  }
  if (declared !== undefined && observed > declared) {
    throw new LetheError(
      'invalid-argument',
      `calibrateGrid: a weight of magnitude ${observed} exceeds the declared weightBound ${declared}; declare a bound that holds for the model (this refusal depends on the data, so the bound must be one that always holds).`,
    );
  }
  const maxAbs = declared ?? 2 ** Math.ceil(Math.log2(Math.max(observed, 2 ** -126)));
  const weightBound = {
    value: maxAbs,
    provenance: declared === undefined ? ('observed' as const) : ('declared' as const),
  };
  const rootD = Math.sqrt(weights.length);
  // Noise float32 cannot carry is refused here, before any noise is drawn.
  const tooCoarse = (sigma: number, gamma: number) => {
    const noise = Number.isFinite(sigma)
      ? `noise of sigma = ${sigma}, on a grid step of ${gamma} (above 2^104, the largest whose 2^24 steps float32 holds),`
      : 'noise of a sigma beyond the largest double';
    return new LetheError(
      'non-finite',
      `${where}: sensitivity ${sensitivity} at (epsilon, delta) = (${epsilon}, ${delta}) needs ${noise} which overflows float32. No model's weights survive that noise; use a tighter bound, a larger epsilon, repair or retrain.`,
    );
  };
  const first = zcdpSigma(epsilon, delta, sensitivity);
  let gamma = gridFor(maxAbs, first);
  if (!(gamma <= MAX_GAMMA)) throw tooCoarse(first, gamma);
  for (let round = 0; round < 64; round++) {
    const released = sensitivity + gamma * rootD;
    const sigma = gridSigma(zcdpSigma(epsilon, delta, released), gamma);
    const next = gridFor(maxAbs, sigma);
    if (!(next <= MAX_GAMMA)) throw tooCoarse(sigma, next);
    if (next <= gamma) {
      const continuous = analyticGaussianSigma({ epsilon, delta, sensitivity });
      return { sigma, gamma, sensitivity: released, loss: sigma / continuous, weightBound };
    }
    gamma = next;
  }
  throw new LetheError(
    'not-converged',
    `calibrateGrid: no grid fits weights up to ${maxAbs} with noise for sensitivity ${sensitivity}; check the weights and the sensitivity.`,
  );
}

/**
 * gamma * (round(w / gamma) + k), k ~ N_Z(0, (sigma / gamma)^2) independently per coordinate:
 * exact in float32. Refuses values beyond 2^24 grid steps (far outside the 40-sigma headroom
 * calibrateGrid leaves) rather than round them.
 */
export function addGridGaussianNoise(
  weights: Float32Array,
  calibration: Pick<GridCalibration, 'sigma' | 'gamma'>,
  source: NoiseSource,
): Float32Array {
  const { sigma, gamma } = calibration;
  if (!(gamma >= 2 ** -149 && gamma <= MAX_GAMMA && 2 ** Math.round(Math.log2(gamma)) === gamma)) {
    throw new LetheError(
      'invalid-argument',
      `addGridGaussianNoise: gamma = ${gamma} is not a power of two in [2^-149, 2^104], the grids on which float32 holds gamma * integer exactly; use calibrateGrid's gamma.`,
    );
  }
  const s = sigma / gamma;
  const scale = 2 ** SIGMA_FRACTION_BITS;
  const sScaled = s * scale;
  if (!Number.isSafeInteger(sScaled) || sScaled <= 0) {
    throw new LetheError(
      'invalid-argument',
      `addGridGaussianNoise: sigma / gamma = ${s} is not a positive multiple of 2^-${SIGMA_FRACTION_BITS}; use calibrateGrid's sigma and gamma.`,
    );
  }
  const bits = new RandomBits(source);
  const noise = new DiscreteGaussianSampler(BigInt(sScaled) ** 2n, BigInt(scale) ** 2n);
  const out = new Float32Array(weights.length);
  for (let i = 0; i < weights.length; i++) {
    const steps = Math.round(weights[i]! / gamma) + noise.nextNumber(bits);
    if (Math.abs(steps) >= FLOAT32_EXACT) {
      throw new LetheError(
        'invalid-argument',
        `addGridGaussianNoise: weights[${i}] = ${weights[i]} lands ${steps} grid steps of ${gamma} from 0, beyond 2^24, where float32 is not exact; use a grid of at least ${2 ** Math.ceil(Math.log2((Math.abs(steps) * gamma) / 2 ** 23))} (calibrateGrid sizes it from a bound on |w_i|).`,
      );
    }
    out[i] = steps * gamma;
  }
  return out;
}
