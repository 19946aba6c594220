import { parentPort, workerData } from 'node:worker_threads';
import { createModel, useBackend } from '@lethe/autodiff';
import { Rng } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { median } from '../../stats.js';
import type { KernelMeasurement, KernelTask } from './protocol.js';

// Times Hessian-matrix products of one model in this thread, on its own backend.
// Results are not read back: the wasm and cpu backends run each op synchronously, so the
// time of the op call is the time of the kernel (a readback would add a copy).
async function measure(task: KernelTask): Promise<KernelMeasurement> {
  const info = await useBackend(task.backend);
  const model = createModel(task.model);
  const rng = new Rng(task.seed);
  const inSize = model.inputShape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(
    Float32Array.from({ length: task.batch * inSize }, () => rng.normal()),
    [task.batch, ...model.inputShape],
  );
  const labels = tf.tensor1d(
    Int32Array.from({ length: task.batch }, () => rng.nextInt(model.numClasses)),
    'int32',
  );
  const point = model.at(model.init(task.seed), { x, labels });
  const v = tf.tensor2d(
    Float32Array.from({ length: task.k * model.d }, () => rng.normal()),
    [task.k, model.d],
  );
  const time = (f: () => tf.Tensor): number => {
    const t0 = performance.now();
    const r = f();
    const ms = performance.now() - t0;
    r.dispose();
    return ms;
  };
  time(() => point.hmp(v, 0.5)); // warm-up: kernel compilation, allocator growth
  const counter = new Int32Array(task.barrier);
  Atomics.add(counter, 0, 1);
  while (Atomics.load(counter, 0) < task.parties)
    Atomics.wait(counter, 0, Atomics.load(counter, 0), 5);
  const batched: number[] = [];
  const started = performance.now();
  while (batched.length < task.reps || performance.now() - started < 1500)
    batched.push(time(() => point.hmp(v, 0.5)));
  let singleMs: number | null = null;
  if (task.singles > 0) {
    const singles = Array.from(
      { length: task.singles },
      (_, i) => tf.slice(v, [i % task.k, 0], [1, model.d]) as tf.Tensor2D,
    );
    time(() => point.hmp(singles[0]!, 0.5));
    const t0 = performance.now();
    for (const s of singles) point.hmp(s, 0.5).dispose();
    singleMs = (performance.now() - t0) / task.singles;
    tf.dispose(singles);
  }
  let matmulGflops: number | null = null;
  if (task.matmul) {
    const n = 1024;
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
    time(() => tf.matMul(a, b));
    const runs = Array.from({ length: 5 }, () => time(() => tf.matMul(a, b)));
    matmulGflops = (2 * n ** 3) / (median(runs) / 1000) / 1e9;
    tf.dispose([a, b]);
  }
  point.dispose();
  tf.dispose([x, labels, v]);
  return {
    backend: info.name,
    d: model.d,
    flopsPerVector: model.hvpFlopsPerSample() * task.batch,
    batchedMs: median(batched),
    singleMs,
    matmulGflops,
  };
}

measure(workerData as KernelTask).then(
  (m) => parentPort!.postMessage({ ok: true, m }),
  (e: unknown) =>
    parentPort!.postMessage({
      ok: false,
      error: e instanceof Error ? (e.stack ?? e.message) : String(e),
    }),
);
