// Largest |eigenvalue| of a symmetric linear operator by power iteration. In Lethe the operator
// is I - eta_t H_t applied through Hessian-vector products, so only `apply` is ever needed.
import { LetheError } from '@lethe/core';
import { seededNoiseSource, standardNormals } from './noise.js';
import { requireInRange, requireInteger, requirePositive } from './validate.js';

export interface SymmetricOperator {
  /** Dimension of the vectors the operator acts on. */
  dim: number;
  /** The product A v. Receives a Float64Array; may return either precision. */
  apply(v: Float64Array | Float32Array): Float64Array | Float32Array;
}

export interface SpectralNormOptions {
  /** Maximum number of products A v (default 100). */
  iterations?: number;
  /**
   * Stop when the relative residual ||A^2 v - theta^2 v|| / theta^2 of the current unit vector v
   * (theta = ||A v||) is at most this (default 1e-6); then theta^2 is within that relative
   * distance of an eigenvalue of A^2.
   */
  tolerance?: number;
  /** Seed of the random start vector (default 0). */
  seed?: number;
}

export interface SpectralNormResult {
  /** The estimate ||A v|| for the last unit iterate v: never above the true norm. */
  value: number;
  /** Products A v performed. */
  iterations: number;
  /** Whether the relative change fell below the tolerance before the iteration cap. */
  converged: boolean;
}

function norm(v: Float64Array | Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/**
 * Power iteration for a symmetric operator. For symmetric A the estimates ||A v_k|| increase
 * monotonically towards max |lambda|, so the result is a lower bound on the spectral norm; a
 * start vector orthogonal to the top eigenvector (probability 0) would stall below it.
 *
 * Convergence is judged on A^2 (whose top eigenvalue is max lambda^2 even when +lambda and
 * -lambda tie), by the residual rather than by the change between estimates: for I - eta H
 * with small eta every eigenvalue is near 1, the estimate moves very little per step, and a
 * test on the change would stop after two steps with errors of 1e-3 (which rho^T amplifies).
 */
export function spectralNorm(
  op: SymmetricOperator,
  options: SpectralNormOptions = {},
): SpectralNormResult {
  const where = 'spectralNorm';
  const dim = requireInteger(where, 'dim', op.dim, 1);
  const maxIterations = requireInteger(where, 'iterations', options.iterations ?? 100, 1);
  const tolerance = requirePositive(where, 'tolerance', options.tolerance ?? 1e-6);
  const seed = options.seed ?? 0;
  requireInRange(where, 'seed', seed, 0, 0xffffffff, 'an integer in [0, 2^32 - 1]');

  let v = standardNormals(dim, seededNoiseSource(seed));
  const startNorm = norm(v);
  for (let i = 0; i < dim; i++) v[i]! /= startNorm;

  let previousV = v;
  let previousNorm = Number.NaN;
  let estimate = 0;
  for (let k = 1; k <= maxIterations; k++) {
    const w = op.apply(v);
    if (w.length !== dim) {
      throw new LetheError(
        'shape-mismatch',
        `${where}: apply returned ${w.length} entries; expected dim = ${dim}. Return one entry per coordinate, or set dim to the operator's size.`,
      );
    }
    estimate = norm(w);
    if (!Number.isFinite(estimate)) {
      throw new LetheError(
        'non-finite',
        `${where}: apply returned a non-finite vector at iteration ${k}; check the operator (NaN weights or a diverged run give NaN products).`,
      );
    }
    if (estimate === 0) return { value: 0, iterations: k, converged: true };
    if (k > 1) {
      // With u = previousV and theta = ||A u||: A^2 u = theta w, so the residual of A^2 at u,
      // relative to theta^2, is ||w - theta u|| / theta.
      let residual = 0;
      for (let i = 0; i < dim; i++) residual += (w[i]! - previousNorm * previousV[i]!) ** 2;
      if (Math.sqrt(residual) <= tolerance * previousNorm) {
        return { value: estimate, iterations: k, converged: true };
      }
    }
    previousV = v;
    previousNorm = estimate;
    const next = new Float64Array(dim);
    for (let i = 0; i < dim; i++) next[i] = w[i]! / estimate;
    v = next;
  }
  return { value: estimate, iterations: maxIterations, converged: false };
}

export interface MaxSpectralNormResult {
  /** The largest estimate over the operators (the rho of the sensitivity bound). */
  value: number;
  /** Position of the operator that attained it. */
  index: number;
  /** Whether every power iteration converged. */
  converged: boolean;
  results: SpectralNormResult[];
}

/**
 * The largest spectral norm over several operators (e.g. I - eta_t H_t at sampled steps t).
 * Operator i uses seed + i, so runs are reproducible and start vectors differ.
 */
export function maxSpectralNorm(
  ops: Iterable<SymmetricOperator>,
  options: SpectralNormOptions = {},
): MaxSpectralNormResult {
  const seed = options.seed ?? 0;
  const results: SpectralNormResult[] = [];
  let index = -1;
  let value = Number.NEGATIVE_INFINITY;
  for (const op of ops) {
    const result = spectralNorm(op, { ...options, seed: (seed + results.length) % 0x100000000 });
    if (result.value > value) {
      value = result.value;
      index = results.length;
    }
    results.push(result);
  }
  if (results.length === 0) {
    throw new LetheError(
      'invalid-argument',
      'maxSpectralNorm: ops is empty; pass at least one operator.',
    );
  }
  return { value, index, converged: results.every((r) => r.converged), results };
}
