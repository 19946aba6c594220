import { LetheError } from '@lethe/core';
import type { CgOptions, CgResult } from './cg.js';
import { conjugateGradientAsync } from './cg.js';
import {
  type CholeskyFactor,
  choleskySolve,
  type DampingOptions,
  factorWithDamping,
} from './cholesky.js';
import { defaultChunk, sumGradients } from './data-ops.js';
import { type HessianOptions, hessianSum } from './hessian.js';
import {
  notPrepared,
  type PrepareRecord,
  RequestLedger,
  requestRecord,
  seconds,
  startWeights,
  type UnlearningContext,
  type UnlearningMethod,
  type UnlearnResult,
} from './method.js';
import { openPointPool, type PointPool } from './point-pool.js';

/** How the linear system H x = g is solved. */
export type SecondOrderSolver = 'cholesky' | 'cg';

export interface SecondOrderOptions {
  /** 'cholesky': explicit Hessian, dense factorisation; 'cg': Hessian-vector products only. */
  readonly solver?: SecondOrderSolver;
  readonly cg?: CgOptions;
  /**
   * CG solver: worker threads over which the samples' linearisation points are split (default
   * 1, in this thread). Each worker has its own tfjs backend: the products run in parallel and
   * a model whose points exceed one wasm heap (the paper's CNN at n = 1,000) still fits.
   */
  readonly workers?: number;
  /** Damping policy when the Hessian is not positive definite (Cholesky and CG alike). */
  readonly damping?: DampingOptions;
  /** How the explicit Hessian is built (Cholesky solver). */
  readonly hessian?: Omit<HessianOptions, 'onProgress'>;
  /**
   * Newton step only. Default: the update as docs/method.md#baselines states it. 'batch': the exact
   * Newton step of the objective the paper's counterfactual minimises,
   * (1/n) sum_{i not in U} l_i + lambda/2 |w|^2 (H = (1/n) sum_{i not in U} H_i + lambda I,
   * right-hand side (1/n) sum_U grad l); 'remaining': that of the authors' code's
   * counterfactual, (1/(n-m)) sum_{i not in U} l_i + lambda/2 |w|^2 (H_rem, right-hand side
   * (1/(n-m)) sum_U (grad l(w; u) + lambda w)). The stated update mixes the two normalisations.
   */
  readonly counterfactual?: 'batch' | 'remaining';
  /** Progress of the explicit Hessian builds. */
  readonly onProgress?: (stage: string, fraction: number) => void;
}

type Kind = 'newton' | 'jackknife';

/**
 * Newton step (Sekhari et al. 2021) and infinitesimal jackknife (Suriyakumar & Wilson 2022),
 * with w the prepared weights and U all samples forgotten so far (docs/method.md#baselines).
 * Every request recomputes the update for the whole set from the prepared weights, so a
 * sequence of requests gives the same weights as one request for their union.
 */
class SecondOrderMethod implements UnlearningMethod {
  readonly name: string;
  private ctx?: UnlearningContext;
  private w0?: Float32Array;
  private ledger?: RequestLedger;
  /** newton + cholesky: sum_i H_i over all samples (d^2); jackknife + cholesky: the factor. */
  private hessianAll?: Float32Array;
  private factor?: CholeskyFactor;
  private factorMu = 0;
  private jackknifePool?: PointPool;
  private readonly solver: SecondOrderSolver;

  constructor(
    private readonly kind: Kind,
    private readonly options: SecondOrderOptions,
  ) {
    this.solver = options.solver ?? 'cholesky';
    if (this.solver !== 'cholesky' && this.solver !== 'cg') {
      throw new LetheError(
        'invalid-argument',
        `Unknown solver "${this.solver}": use 'cholesky' or 'cg'.`,
      );
    }
    const cf = options.counterfactual;
    if (cf !== undefined && cf !== 'batch' && cf !== 'remaining') {
      throw new LetheError(
        'invalid-argument',
        `Unknown counterfactual "${cf}": use 'batch' or 'remaining'.`,
      );
    }
    const w = options.workers;
    if (w !== undefined && !(Number.isInteger(w) && w >= 1))
      throw new LetheError(
        'invalid-argument',
        `workers = ${w} must be an integer >= 1: give a whole number of threads (1 runs in this one).`,
      );
    if (cf !== undefined && kind === 'jackknife') {
      throw new LetheError(
        'invalid-argument',
        'counterfactual applies to the Newton step only: the jackknife uses H_all by definition.',
      );
    }
    this.name = `${kind === 'newton' ? 'newton' : 'jackknife'}${this.solver === 'cg' ? '-cg' : ''}${cf ? `@${cf}` : ''}`;
  }

  async prepare(ctx: UnlearningContext): Promise<PrepareRecord> {
    await this.dispose();
    const started = performance.now();
    const w0 = startWeights(this.name, ctx);
    const { model, data } = ctx;
    const d = model.d;
    this.ctx = ctx;
    this.w0 = w0;
    this.ledger = new RequestLedger(this.name, data.n);
    const all = Int32Array.from({ length: data.n }, (_, i) => i);
    const detail: Record<string, unknown> = { solver: this.solver, d };
    let bytes = 0;
    if (this.solver === 'cholesky') {
      const t = performance.now();
      const sum = hessianSum(model, data, w0, all, {
        ...this.options.hessian,
        onProgress: (f) => this.options.onProgress?.(`${this.name}: Hessian`, f),
      });
      detail.hessianSeconds = seconds(t);
      bytes = d * d * 4;
      if (this.kind === 'newton') {
        // The statistic kept: sum_i H_i at w; each request subtracts the forgotten ones.
        this.hessianAll = sum;
      } else {
        const l2 = ctx.trajectory.config.l2;
        for (let i = 0; i < d * d; i++) sum[i]! /= data.n;
        for (let i = 0; i < d; i++) sum[i * d + i]! += l2;
        const damped = factorWithDamping(sum, d, this.options.damping);
        this.factor = damped.factor;
        this.factorMu = damped.mu;
        Object.assign(detail, {
          factorSeconds: damped.seconds,
          mu: damped.mu,
          attempts: damped.attempts,
        });
      }
    } else if (this.kind === 'jackknife') {
      // Nothing is stored but the model's own forward caches (rebuilt on demand).
      detail.note = 'CG keeps no statistics: every request runs CG on H_all-vector products';
    }
    return { method: this.name, seconds: seconds(started), bytes, detail };
  }

  async unlearn(ids: ArrayLike<number>): Promise<UnlearnResult> {
    const { ctx, w0, ledger } = this;
    if (!ctx || !w0 || !ledger) throw notPrepared(this.name);
    const list = ledger.check(ids);
    const started = performance.now();
    const { model, data } = ctx;
    const d = model.d;
    const n = data.n;
    const l2 = ctx.trajectory.config.l2;
    const removed = [...ledger.removed, ...list].sort((a, b) => a - b);
    const m = removed.length;
    const cf = this.options.counterfactual;
    // H = hessianScale * sum_{i in the set} H_i + lambda I; right-hand side g / denominator.
    const denominator = this.kind === 'newton' && cf !== 'batch' ? n - m : n;
    const hessianScale = 1 / denominator;
    const g = sumGradients(model, data, w0, removed);
    for (let j = 0; j < d; j++) {
      g[j] = (g[j]! + (cf === 'remaining' ? m * l2 * w0[j]! : 0)) / denominator;
    }
    const detail: Record<string, unknown> = { m, solver: this.solver };
    let delta: Float64Array;
    if (this.solver === 'cholesky') {
      let factor = this.factor;
      let mu = this.factorMu;
      if (this.kind === 'newton') {
        // H_rem = (sum_all H_i - sum_U H_u) / (n - m) + lambda I, refactorised per request
        // (divided by n instead for the 'batch' counterfactual).
        let t = performance.now();
        const h = hessianSum(model, data, w0, removed, {
          ...this.options.hessian,
          onProgress: (f) => this.options.onProgress?.(`${this.name}: forgotten Hessian`, f),
        });
        const all = this.hessianAll!;
        for (let i = 0; i < d * d; i++) h[i] = (all[i]! - h[i]!) * hessianScale;
        for (let i = 0; i < d; i++) h[i * d + i]! += l2;
        detail.hessianSeconds = seconds(t);
        t = performance.now();
        const damped = factorWithDamping(h, d, this.options.damping);
        factor = damped.factor;
        mu = damped.mu;
        Object.assign(detail, { factorSeconds: damped.seconds, attempts: damped.attempts });
      }
      const t = performance.now();
      delta = choleskySolve(factor!, g);
      detail.solveSeconds = seconds(t);
      detail.mu = mu;
    } else {
      const ids =
        this.kind === 'newton'
          ? complement(n, removed)
          : Int32Array.from({ length: n }, (_, i) => i);
      let pool = this.kind === 'jackknife' ? this.jackknifePool : undefined;
      if (!pool) {
        const t = performance.now();
        // Small chunks: building each point transiently needs several times what it keeps
        // (the CNN keeps ~1.8 MB per sample).
        pool = await openPointPool(model, data, w0, ids, {
          workers: this.options.workers,
          chunk: Math.min(64, defaultChunk(model, 1, ids.length)),
        });
        detail.linearisationSeconds = seconds(t);
      }
      if (this.kind === 'jackknife') this.jackknifePool = pool;
      try {
        const result = await dampedCg(pool, hessianScale, l2, g, this.options);
        delta = result.x;
        Object.assign(detail, {
          iterations: result.totalIterations,
          residual: result.residual,
          converged: result.converged,
          mu: result.mu,
          attempts: result.attempts,
          workers: pool.workers,
        });
      } finally {
        if (this.kind === 'newton') await pool.close();
      }
    }
    const weights = Float32Array.from(w0, (v, j) => v + delta[j]!);
    const request = ledger.commit(list);
    return {
      weights,
      record: requestRecord(this.name, request, list, m, started, detail),
    };
  }

  async reset(): Promise<void> {
    if (!this.ledger) throw notPrepared(this.name);
    this.ledger.reset();
  }

  async dispose(): Promise<void> {
    await this.jackknifePool?.close();
    this.jackknifePool = undefined;
    this.hessianAll = undefined;
    this.factor = undefined;
    this.ctx = undefined;
    this.w0 = undefined;
    this.ledger = undefined;
  }
}

function complement(n: number, removed: readonly number[]): Int32Array {
  const gone = new Set(removed);
  return Int32Array.from({ length: n }, (_, i) => i).filter((i) => !gone.has(i));
}

interface DampedCgResult extends CgResult {
  readonly mu: number;
  readonly attempts: number;
  readonly totalIterations: number;
}

/**
 * CG on (scale * sum_i H_i + (lambda + mu) I) x = b; when CG meets negative curvature it is
 * restarted with damping mu, first initialRelative * (b^T H b / b^T b), then growing.
 */
async function dampedCg(
  pool: PointPool,
  scale: number,
  l2: number,
  b: Float64Array,
  options: SecondOrderOptions,
): Promise<DampedCgResult> {
  const d = b.length;
  const growth = options.damping?.growth ?? 10;
  const maxAttempts = options.damping?.maxAttempts ?? 12;
  let mu = 0;
  let total = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const shift = l2 + mu;
    const result = await conjugateGradientAsync(
      async (v) => {
        const h = await pool.hmp(v);
        for (let j = 0; j < d; j++) h[j] = scale * h[j]! + shift * v[j]!;
        return h;
      },
      b,
      options.cg,
    );
    total += result.iterations;
    if (!result.negativeCurvature)
      return { ...result, mu, attempts: attempt, totalIterations: total };
    if (mu === 0) {
      const hb = await pool.hmp(b);
      let bhb = 0;
      let bb = 0;
      for (let j = 0; j < d; j++) {
        bhb += b[j]! * (scale * hb[j]! + l2 * b[j]!);
        bb += b[j]! ** 2;
      }
      mu = (options.damping?.initialRelative ?? 1e-6) * Math.max(Math.abs(bhb) / bb, 1e-12);
    } else mu *= growth;
  }
  throw new LetheError(
    'not-converged',
    `CG met negative curvature after ${maxAttempts} damping attempts (last mu ${mu / growth}): raise damping.maxAttempts or damping.initialRelative.`,
  );
}

/**
 * Newton step of Sekhari et al. (2021) on the remaining data's Hessian (docs/method.md#baselines).
 */
export function newtonStep(options: SecondOrderOptions = {}): UnlearningMethod {
  return new SecondOrderMethod('newton', options);
}

/** Infinitesimal jackknife of Suriyakumar & Wilson (2022) on the full data's Hessian. */
export function infinitesimalJackknife(options: SecondOrderOptions = {}): UnlearningMethod {
  return new SecondOrderMethod('jackknife', options);
}
