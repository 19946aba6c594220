import { Worker } from 'node:worker_threads';
import { backendInfo, type Model, recipeOf } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import type { TrainingData } from '@lethe/recollect';
import * as tf from '@tensorflow/tfjs-core';
import { ChunkedPoints } from './data-ops.js';
import type { PointsReply, PointsRequest, PointsTask } from './points-protocol.js';

/**
 * The samples `ids` linearised at `weights`, answering (sum_{i in ids} H_i) V. With workers > 1
 * the samples are split over worker threads, each holding its share's points in its own tfjs
 * backend: the products run in parallel, and a model whose points exceed one wasm heap (the
 * CNN's ~1.8 MB per sample at n = 1,000) still fits.
 */
export interface PointPool {
  readonly workers: number;
  /** (sum_i H_i) V for V given row-major [rows, d]; float64 out. */
  hmp(v: Float64Array, rows?: number): Promise<Float64Array>;
  close(): Promise<void>;
}

export interface PointPoolOptions {
  /** Worker threads (default 1: in this thread). */
  readonly workers?: number;
  /** Samples per linearisation point. */
  readonly chunk: number;
}

export async function openPointPool(
  model: Model,
  data: TrainingData,
  weights: Float32Array,
  ids: Int32Array,
  options: PointPoolOptions,
): Promise<PointPool> {
  const workers = Math.max(1, Math.min(options.workers ?? 1, ids.length));
  if (workers === 1) return localPool(new ChunkedPoints(model, data, weights, ids, options.chunk));
  return workerPool(model, data, weights, ids, workers, options.chunk);
}

function localPool(points: ChunkedPoints): PointPool {
  const d = points.model.d;
  return {
    workers: 1,
    async hmp(v, rows = 1) {
      const t = tf.tensor2d(Float32Array.from(v), [rows, d]);
      const out = points.hmp(t);
      t.dispose();
      const values = out.dataSync();
      out.dispose();
      return Float64Array.from(values);
    },
    async close() {
      points.dispose();
    },
  };
}

async function workerPool(
  model: Model,
  data: TrainingData,
  weights: Float32Array,
  ids: Int32Array,
  count: number,
  chunk: number,
): Promise<PointPool> {
  const recipe = recipeOf(model);
  const size = Math.ceil(ids.length / count);
  const entry = new URL('../dist/points-worker.js', import.meta.url);
  // Workers refuse per-process flags (--expose-gc); --input-type does not apply to a file entry.
  const execArgv = process.execArgv.filter((a) => !/^--(input-type|expose-gc)/.test(a));
  const handles: { worker: Worker; pending: Map<number, (out: Float32Array) => void> }[] = [];
  let failure: Error | undefined;
  const fail = (i: number, message: string) => {
    failure ??= new LetheError('worker-failed', `Linearisation worker ${i} failed: ${message}`);
  };
  const ready = [];
  for (let i = 0; i < count; i++) {
    const task: PointsTask = {
      backend: backendInfo().name,
      model: recipe,
      data,
      weights,
      ids: ids.slice(i * size, Math.min(ids.length, (i + 1) * size)),
      chunk,
    };
    const worker = new Worker(entry, { workerData: task, execArgv });
    const pending = new Map<number, (out: Float32Array) => void>();
    handles.push({ worker, pending });
    ready.push(
      new Promise<void>((resolve, reject) => {
        worker.on('message', (m: PointsReply) => {
          if (m.kind === 'ready') resolve();
          else if (m.kind === 'hmp') {
            pending.get(m.id)?.(m.out);
            pending.delete(m.id);
          } else {
            fail(i, m.message);
            reject(failure);
            for (const done of pending.values()) done(new Float32Array(0));
          }
        });
        worker.on('error', (err) => {
          fail(i, err.message);
          reject(failure);
          for (const done of pending.values()) done(new Float32Array(0));
        });
      }),
    );
  }
  // Ending a worker frees its whole backend, points included.
  const closeAll = async () => {
    await Promise.all(handles.map((h) => h.worker.terminate()));
  };
  try {
    await Promise.all(ready);
  } catch (err) {
    await closeAll();
    throw err;
  }
  let next = 0;
  return {
    workers: count,
    async hmp(v, rows = 1) {
      if (failure) throw failure;
      const id = next++;
      const v32 = Float32Array.from(v);
      const parts = await Promise.all(
        handles.map(
          (h) =>
            new Promise<Float32Array>((resolve) => {
              h.pending.set(id, resolve);
              h.worker.postMessage({ kind: 'hmp', id, rows, v: v32 } satisfies PointsRequest);
            }),
        ),
      );
      if (failure) throw failure;
      const out = new Float64Array(v.length);
      for (const p of parts) for (let j = 0; j < out.length; j++) out[j]! += p[j]!;
      return out;
    },
    close: closeAll,
  };
}
