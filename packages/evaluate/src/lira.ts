import { LetheError } from '@lethe/core';
import type { ShadowSet } from './shadows.js';
import { requireFinite } from './validate.js';

export interface LiraOptions {
  /**
   * 'online' (default): log N(x; mu_in, s_in^2) - log N(x; mu_out, s_out^2), needing shadows
   * trained with and without each sample. 'offline': only the out-fit, one-sided, scored as
   * (x - mu_out) / s_out (a monotone transform of Carlini et al.'s 1 - Pr[Z > x], so the ROC is
   * the same and nothing underflows).
   */
  readonly variant?: 'online' | 'offline';
  /**
   * 'global' (default): one variance for "in" and one for "out", pooled over samples from the
   * deviations around each sample's own means; Carlini et al. find it better with fewer than
   * ~64 shadows. 'per-example': each sample's own variances.
   */
  readonly variance?: 'global' | 'per-example';
  /** Variances are floored here, so that identical shadow outputs give finite scores. Default 1e-12. */
  readonly minVariance?: number;
}

interface Fit {
  readonly mean: Float64Array;
  readonly variance: Float64Array;
}

/**
 * LiRA (Carlini et al. 2022) likelihood-ratio scores of a target model's logit-scaled
 * confidences on the pool (higher = more likely a member), from per-sample Gaussian fits of the
 * shadows' confidences with and without that sample (docs/method.md#lira).
 */
export function liraScores(
  shadows: ShadowSet,
  target: ArrayLike<number>,
  options: LiraOptions = {},
): Float64Array {
  const where = 'liraScores';
  const variant = options.variant ?? 'online';
  const variance = options.variance ?? 'global';
  const floor = options.minVariance ?? 1e-12;
  if (variant !== 'online' && variant !== 'offline')
    throw new LetheError(
      'invalid-argument',
      `${where}: variant must be 'online' or 'offline', got '${variant}'.`,
    );
  if (variance !== 'global' && variance !== 'per-example')
    throw new LetheError(
      'invalid-argument',
      `${where}: variance must be 'global' or 'per-example', got '${variance}'.`,
    );
  if (!(floor > 0))
    throw new LetheError(
      'invalid-argument',
      `${where}: minVariance must be a number > 0, got ${floor}; leave it out for the default 1e-12.`,
    );
  const n = shadows.poolSize;
  if (target.length !== n) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: the target has ${target.length} confidences but the shadows cover a pool of ${n}; score the target on every pool sample, in pool order.`,
    );
  }
  if (shadows.members.length !== shadows.confidences.length || shadows.members.length === 0) {
    throw new LetheError(
      shadows.members.length === 0 ? 'invalid-argument' : 'shape-mismatch',
      `${where}: the shadow set needs as many membership masks as confidence rows (>= 1), got ${shadows.members.length} and ${shadows.confidences.length}; pass the ShadowSet trainShadows returned.`,
    );
  }
  requireFinite(where, 'target confidences', target);
  shadows.confidences.forEach((c, s) => requireFinite(where, `shadow ${s} confidences`, c));
  const fitOut = fit(shadows, 0, variance, floor, where);
  const out = new Float64Array(n);
  if (variant === 'offline') {
    for (let i = 0; i < n; i++)
      out[i] = (target[i]! - fitOut.mean[i]!) / Math.sqrt(fitOut.variance[i]!);
    return out;
  }
  const fitIn = fit(shadows, 1, variance, floor, where);
  for (let i = 0; i < n; i++) {
    out[i] =
      logNormal(target[i]!, fitIn.mean[i]!, fitIn.variance[i]!) -
      logNormal(target[i]!, fitOut.mean[i]!, fitOut.variance[i]!);
  }
  return out;
}

function logNormal(x: number, mean: number, variance: number): number {
  return -0.5 * (Math.log(2 * Math.PI * variance) + (x - mean) ** 2 / variance);
}

/** Per-sample means and (per-sample or pooled) variances of the shadows with membership `side`. */
function fit(
  shadows: ShadowSet,
  side: 0 | 1,
  kind: 'global' | 'per-example',
  floor: number,
  where: string,
): Fit {
  const n = shadows.poolSize;
  const mean = new Float64Array(n);
  const variance = new Float64Array(n);
  let pooledSum = 0;
  let pooledCount = 0;
  for (let i = 0; i < n; i++) {
    let count = 0;
    let sum = 0;
    shadows.members.forEach((m, s) => {
      if (m[i] === side) {
        count++;
        sum += shadows.confidences[s]![i]!;
      }
    });
    if (count === 0) {
      throw new LetheError(
        'invalid-argument',
        `${where}: pool sample ${i} is ${side === 1 ? 'in no' : 'in every'} shadow's training set, so there is no "${side === 1 ? 'in' : 'out'}" fit for it; use shadowMemberships() (each sample in exactly half) or more shadows.`,
      );
    }
    const mu = sum / count;
    let ss = 0;
    shadows.members.forEach((m, s) => {
      if (m[i] === side) ss += (shadows.confidences[s]![i]! - mu) ** 2;
    });
    // Unbiased (n - 1) estimates: with 8 shadows a side the plain mean square is 12% low.
    mean[i] = mu;
    variance[i] = count > 1 ? ss / (count - 1) : 0;
    pooledSum += ss;
    pooledCount += count - 1;
  }
  if (kind === 'global') variance.fill(pooledCount > 0 ? pooledSum / pooledCount : 0);
  for (let i = 0; i < n; i++) variance[i] = Math.max(variance[i]!, floor);
  return { mean, variance };
}
