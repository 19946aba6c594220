import { layoutDigest } from '@lethe/autodiff';
import { type RecollectProgress, recollect, Unlearner } from '@lethe/recollect';
import { type ApproximatorStore, createMemoryStore } from '@lethe/store';
import {
  notPrepared,
  type PrepareRecord,
  RequestLedger,
  seconds,
  startWeights,
  type UnlearningContext,
  type UnlearningMethod,
  type UnlearnResult,
} from './method.js';

export interface HessianFreeOptions {
  /**
   * 'store' (default): recollect all n approximators up front into an in-memory store, each
   * request is a vector sum; 'lazy': no precompute, each request recollects its own samples.
   */
  readonly source?: 'store' | 'lazy';
  /** Worker threads for recollection (default 2). */
  readonly workers?: number;
  /** Rows per Hessian-matrix product in recollection. */
  readonly blockSize?: number;
  /**
   * Keep a copy of the approximators so that reset() can restore the rows that unlearning
   * erased (benchmarks only: it keeps what erasure is meant to remove). Default false.
   */
  readonly keepForReset?: boolean;
  readonly onProgress?: (progress: RecollectProgress) => void;
}

/**
 * The Hessian-free method (Qiao et al., ICLR 2025) as implemented by @lethe/recollect: w <- w +
 * sum_{u in U} a_u, wrapped in the shared interface. Storage is n x d float32 (store source).
 */
export function hessianFree(options: HessianFreeOptions = {}): UnlearningMethod {
  const source = options.source ?? 'store';
  if (source !== 'store' && source !== 'lazy')
    throw new Error(`hessianFree: unknown source "${source}": use 'store' or 'lazy'.`);
  const name = source === 'lazy' ? 'hessian-free-lazy' : 'hessian-free';
  let ctx: UnlearningContext | undefined;
  let w0: Float32Array | undefined;
  let ledger: RequestLedger | undefined;
  let store: ApproximatorStore | undefined;
  let snapshot: Float32Array | undefined;
  let unlearner: Unlearner | undefined;

  const newStore = (c: UnlearningContext) =>
    createMemoryStore({
      modelDigest: c.model.digest,
      layoutDigest: layoutDigest(c.model.name, c.model.layout),
      d: c.model.d,
      dtype: 'float32',
      trajectoryDigest: c.trajectory.digest,
    });
  const open = (c: UnlearningContext, weights: Float32Array) =>
    Unlearner.open(
      c.model,
      c.trajectory,
      source === 'lazy'
        ? { kind: 'lazy', data: c.data, workers: options.workers ?? 2 }
        : { kind: 'store', store: store! },
      weights,
    );

  const method: UnlearningMethod = {
    name,
    async prepare(c: UnlearningContext): Promise<PrepareRecord> {
      await method.dispose();
      const started = performance.now();
      w0 = startWeights(c);
      ctx = c;
      ledger = new RequestLedger(name, c.data.n);
      const detail: Record<string, unknown> = { source };
      let bytes = 0;
      if (source === 'store') {
        store = newStore(c);
        const r = await recollect({
          model: c.model,
          data: c.data,
          trajectory: c.trajectory,
          store,
          workers: options.workers,
          blockSize: options.blockSize,
          onProgress: options.onProgress,
        });
        if (options.keepForReset) snapshot = r.vectors;
        bytes = c.data.n * c.model.d * 4;
        Object.assign(detail, { workers: r.workers, blockSize: r.blockSize });
      }
      unlearner = open(c, w0);
      return { method: name, seconds: seconds(started), bytes, detail };
    },
    async unlearn(ids: ArrayLike<number>): Promise<UnlearnResult> {
      if (!ctx || !ledger || !unlearner) throw notPrepared(name);
      const list = ledger.check(ids);
      const started = performance.now();
      const r = await unlearner.forgetBatch(list);
      const weights = unlearner.weights;
      const request = ledger.commit(list);
      return {
        weights,
        record: {
          method: name,
          request,
          ids: list,
          removed: ledger.removedCount,
          seconds: seconds(started),
          detail: { source, updateMilliseconds: r.milliseconds },
        },
      };
    },
    async reset(): Promise<void> {
      if (!ctx || !ledger || !w0) throw notPrepared(name);
      if (source === 'store' && ledger.removedCount > 0) {
        if (!snapshot) {
          throw new Error(
            `${name}: reset() must restore erased approximators: create the method with { keepForReset: true } (benchmarks only).`,
          );
        }
        await store!.close();
        store = newStore(ctx);
        await store.writeRows(
          Int32Array.from({ length: ctx.data.n }, (_, i) => i),
          snapshot,
        );
      }
      unlearner = open(ctx, w0);
      ledger.reset();
    },
    async dispose(): Promise<void> {
      await store?.close();
      store = undefined;
      snapshot = undefined;
      unlearner = undefined;
      ctx = undefined;
      ledger = undefined;
    },
  };
  return method;
}
