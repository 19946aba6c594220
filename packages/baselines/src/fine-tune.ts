import { deriveSeed, selectRows, sizeOfShape } from '@lethe/core';
import { type TrainConfig, train } from '@lethe/recollect';
import {
  notPrepared,
  type PrepareRecord,
  RequestLedger,
  requestRecord,
  startWeights,
  type UnlearningContext,
  type UnlearningMethod,
  type UnlearnResult,
} from './method.js';

export interface FineTuneOptions {
  /** k: epochs of SGD on the remaining data per request (default 2). */
  readonly epochs?: number;
  /**
   * First step size (default: the run's next one, eta_0 q^T: fine-tuning continues the run's
   * schedule; a restart at eta_0 moves the weights further than the retrain shift).
   */
  readonly lr?: number;
  /** q of the schedule (default: the run's q). */
  readonly lrDecay?: number;
  /** Default: the run's |B|, C and lambda. */
  readonly batchSize?: number;
  readonly clip?: number;
  readonly l2?: number;
  /** Seeds the permutations (default: derived from the run's seed and the request index). */
  readonly seed?: number;
}

/**
 * Fine-tuning: k more epochs of the run's own SGD (seeded permutations, |B|, clipping, L2, the
 * step size continuing the run's decay from eta_0 q^T) on the remaining data, from the current
 * weights. Requests accumulate: each one fine-tunes on what is left after all requests so far.
 */
export function fineTune(options: FineTuneOptions = {}): UnlearningMethod {
  const name = 'fine-tune';
  let state: { ctx: UnlearningContext; w0: Float32Array; w: Float32Array; ledger: RequestLedger };
  let prepared = false;
  return {
    name,
    async prepare(ctx: UnlearningContext): Promise<PrepareRecord> {
      const w0 = startWeights(name, ctx);
      state = { ctx, w0, w: w0, ledger: new RequestLedger(name, ctx.data.n) };
      prepared = true;
      return {
        method: name,
        seconds: 0,
        bytes: 0,
        detail: { config: configFor(ctx, 0, ctx.data.n) },
      };
    },
    async unlearn(ids: ArrayLike<number>): Promise<UnlearnResult> {
      if (!prepared) throw notPrepared(name);
      const { ctx, ledger } = state;
      const list = ledger.check(ids);
      const started = performance.now();
      const gone = new Set([...ledger.removed, ...list]);
      const keep = Array.from({ length: ctx.data.n }, (_, i) => i).filter((i) => !gone.has(i));
      const request = ledger.commit(list);
      const config = configFor(ctx, request, keep.length);
      const remaining = selectRows(ctx.data, keep, sizeOfShape(ctx.model.inputShape));
      const { weights } = train(ctx.model, remaining, config, {
        initialWeights: state.w,
        checkpoints: { kind: 'none' },
      });
      state.w = weights;
      return {
        weights: Float32Array.from(weights),
        record: requestRecord(name, request, list, gone.size, started, { config }),
      };
    },
    async reset(): Promise<void> {
      if (!prepared) throw notPrepared(name);
      state.w = state.w0;
      state.ledger.reset();
    },
    async dispose(): Promise<void> {
      prepared = false;
    },
  };

  function configFor(ctx: UnlearningContext, request: number, remaining: number): TrainConfig {
    const run = ctx.trajectory.config;
    const config: TrainConfig = {
      epochs: options.epochs ?? 2,
      batchSize: Math.min(options.batchSize ?? run.batchSize, remaining),
      lr: options.lr ?? run.lr * run.lrDecay ** ctx.trajectory.steps.length,
      lrDecay: options.lrDecay ?? run.lrDecay,
      clip: options.clip ?? run.clip,
      l2: options.l2 ?? run.l2,
      // A run given its own schedule may have no seed: derive from 0 then.
      seed: options.seed ?? deriveSeed(run.seed ?? 0, 0xf1e7, request),
    };
    return config;
  }
}
