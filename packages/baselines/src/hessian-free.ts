import { LetheError } from '@lethe/core';
import { type RecollectProgress, recollect, storeIdentity, Unlearner } from '@lethe/recollect';
import { type ApproximatorStore, createMemoryStore } from '@lethe/store';
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
  /**
   * 'store' source only: precompute the approximators of these samples only (default: all n).
   * Each approximator depends on its own sample alone, so the rows equal those of a full
   * precompute; requests for other samples fail. Benchmarks use it when every request is known
   * in advance; the record reports the measured time and its extrapolation to all n.
   */
  readonly precomputeIds?: ArrayLike<number>;
  /**
   * 2: after each request's vector sum, refine the weights by the second-order recollection of
   * all samples forgotten so far (`Unlearner.refineSecondOrder`, one pass over the trajectory
   * per request; not in the paper, see docs/method.md#second-order-refinement). Default 1.
   */
  readonly order?: 1 | 2;
  readonly onProgress?: (progress: RecollectProgress) => void;
}

/**
 * The Hessian-free method (Qiao et al., ICLR 2025) as implemented by @lethe/recollect: w <- w +
 * sum_{u in U} a_u, wrapped in the shared interface. Storage is n x d float32 (store source).
 */
export function hessianFree(options: HessianFreeOptions = {}): UnlearningMethod {
  const source = options.source ?? 'store';
  if (source !== 'store' && source !== 'lazy')
    throw new LetheError(
      'invalid-argument',
      `hessianFree: unknown source "${source}": use 'store' or 'lazy'.`,
    );
  if (source === 'lazy' && options.precomputeIds !== undefined)
    throw new LetheError(
      'unsupported',
      "hessianFree: precomputeIds needs source 'store' (lazy mode precomputes nothing).",
    );
  const order = options.order ?? 1;
  if (order !== 1 && order !== 2)
    throw new LetheError(
      'unsupported',
      `hessianFree: order ${String(order)} is not supported: use 1 or 2.`,
    );
  const name = `hessian-free${order === 2 ? '-2' : ''}${source === 'lazy' ? '-lazy' : ''}`;
  let ctx: UnlearningContext | undefined;
  let w0: Float32Array | undefined;
  let ledger: RequestLedger | undefined;
  let store: ApproximatorStore | undefined;
  const precomputed =
    options.precomputeIds === undefined ? undefined : new Set(Array.from(options.precomputeIds));
  let snapshot: { ids: Int32Array; vectors: Float32Array } | undefined;
  let unlearner: Unlearner | undefined;

  const newStore = (c: UnlearningContext) =>
    createMemoryStore(storeIdentity(c.model, c.trajectory));
  const open = (c: UnlearningContext, weights: Float32Array) =>
    Unlearner.open(
      c.model,
      c.trajectory,
      source === 'lazy'
        ? // A fresh ledger per open: the method's own RequestLedger tracks requests since reset.
          { kind: 'lazy', data: c.data, workers: options.workers ?? 2, ledger: newStore(c) }
        : { kind: 'store', store: store! },
      weights,
    );

  const method: UnlearningMethod = {
    name,
    async prepare(c: UnlearningContext): Promise<PrepareRecord> {
      await method.dispose();
      const started = performance.now();
      w0 = startWeights(name, c);
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
          ids: options.precomputeIds,
          store,
          workers: options.workers,
          blockSize: options.blockSize,
          onProgress: options.onProgress,
        });
        if (options.keepForReset) snapshot = { ids: r.ids, vectors: r.vectors };
        bytes = c.data.n * c.model.d * 4;
        Object.assign(detail, { workers: r.workers, blockSize: r.blockSize });
        if (r.ids.length < c.data.n) {
          // Rows are independent and cost the same, so the full precompute scales with n.
          Object.assign(detail, {
            precomputedRows: r.ids.length,
            precomputeSeconds: r.seconds,
            fullPrecomputeSecondsEstimate: (r.seconds * c.data.n) / r.ids.length,
            bytesNote: 'bytes: n x d float32, what the full precompute stores',
          });
        }
      }
      unlearner = await open(c, w0);
      return { method: name, seconds: seconds(started), bytes, detail };
    },
    async unlearn(ids: ArrayLike<number>): Promise<UnlearnResult> {
      if (!ctx || !ledger || !unlearner) throw notPrepared(name);
      const list = ledger.check(ids);
      if (precomputed) {
        const missing = list.find((id) => !precomputed.has(id));
        if (missing !== undefined)
          throw new LetheError(
            'not-found',
            `${name}: sample ${missing} is not among the precomputed rows (precomputeIds): add it there, or precompute all n.`,
          );
      }
      const started = performance.now();
      const r = await unlearner.forgetBatch(list);
      let secondOrderSeconds: number | undefined;
      if (order === 2) {
        const t = performance.now();
        await unlearner.refineSecondOrder(ctx.data);
        secondOrderSeconds = seconds(t);
      }
      const weights = unlearner.weights;
      const request = ledger.commit(list);
      return {
        weights,
        record: requestRecord(name, request, list, ledger.removedCount, started, {
          source,
          order,
          updateMilliseconds: r.milliseconds,
          secondOrderSeconds,
        }),
      };
    },
    async reset(): Promise<void> {
      if (!ctx || !ledger || !w0) throw notPrepared(name);
      if (source === 'store' && ledger.removedCount > 0) {
        if (!snapshot) {
          throw new LetheError(
            'invalid-argument',
            `${name}: reset() must restore erased approximators: create the method with { keepForReset: true } (benchmarks only).`,
          );
        }
        await store!.close();
        store = newStore(ctx);
        await store.writeRows(snapshot.ids, snapshot.vectors);
      }
      unlearner = await open(ctx, w0);
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
