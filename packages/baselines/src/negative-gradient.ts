import type { Model } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import type { TrainingData } from '@lethe/recollect';
import { DataTensors, sgdStep } from '@lethe/recollect/internals';
import * as tf from '@tensorflow/tfjs-core';
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

export interface NegativeGradientOptions {
  /** k: ascent steps per request (default 5). */
  readonly steps?: number;
  /** Step size (default: the run's last one, eta_0 q^T, the scale of its final moves). */
  readonly lr?: number;
  /** Global-norm clip of each ascent gradient (default: the run's C). */
  readonly clip?: number;
}

/**
 * Negative gradient (gradient ascent on the forgotten data): k steps of
 * w <- w + eta clip(grad (1/|U|) sum_{u in U} l(w; u)) over the request's samples U (full
 * batch, cross-entropy only: ascending the L2 term would only inflate the weights), from the
 * current weights.
 */
export function negativeGradient(options: NegativeGradientOptions = {}): UnlearningMethod {
  const name = 'negative-gradient';
  const steps = options.steps ?? 5;
  if (!(Number.isInteger(steps) && steps >= 1))
    throw new LetheError(
      'invalid-argument',
      `negativeGradient: steps = ${steps} must be an integer >= 1.`,
    );
  let state: { ctx: UnlearningContext; w0: Float32Array; w: Float32Array; ledger: RequestLedger };
  let prepared = false;
  const hyper = (ctx: UnlearningContext) => ({
    steps,
    lr:
      options.lr ??
      ctx.trajectory.config.lr * ctx.trajectory.config.lrDecay ** ctx.trajectory.steps.length,
    clip: options.clip ?? ctx.trajectory.config.clip,
  });
  return {
    name,
    async prepare(ctx: UnlearningContext): Promise<PrepareRecord> {
      const w0 = startWeights(name, ctx);
      state = { ctx, w0, w: w0, ledger: new RequestLedger(name, ctx.data.n) };
      prepared = true;
      return { method: name, seconds: 0, bytes: 0, detail: hyper(ctx) };
    },
    async unlearn(ids: ArrayLike<number>): Promise<UnlearnResult> {
      if (!prepared) throw notPrepared(name);
      const { ctx, ledger } = state;
      const list = ledger.check(ids);
      const started = performance.now();
      const h = hyper(ctx);
      state.w = ascend(ctx.model, ctx.data, state.w, list, h.steps, h.lr, h.clip);
      const request = ledger.commit(list);
      return {
        weights: Float32Array.from(state.w),
        record: requestRecord(name, request, list, ledger.removedCount, started, h),
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
}

function ascend(
  model: Model,
  data: TrainingData,
  weights: Float32Array,
  ids: readonly number[],
  steps: number,
  lr: number,
  clip: number,
): Float32Array {
  const tensors = new DataTensors(model, data);
  const batch = tensors.gather(Int32Array.from(ids));
  let w = tf.tensor1d(weights);
  try {
    for (let s = 0; s < steps; s++) {
      // A descent step with step size -eta is an ascent step.
      const { next } = sgdStep(model, w, batch, -lr, clip, 0);
      w.dispose();
      w = next;
    }
    return Float32Array.from(w.dataSync());
  } finally {
    w.dispose();
    tf.dispose([batch.x, batch.labels]);
    tensors.dispose();
  }
}
