import { Worker } from 'node:worker_threads';
import { availableBackends, listModels } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import type { ExperimentOutput } from '../../experiment.js';
import { markdownTable } from '../../table.js';
import type { KernelMeasurement, KernelTask } from './protocol.js';

export interface KernelsOptions {
  readonly models?: readonly string[];
  readonly backends?: readonly string[];
  readonly k: number;
  readonly quick: boolean;
}

export interface KernelResult {
  readonly model: string;
  readonly backend: string;
  readonly workers: number;
  readonly k: number;
  readonly batch: number;
  readonly msPerVectorBatched: number;
  readonly msPerVectorSingle: number | null;
  readonly batchedSpeedup: number | null;
  readonly gflops: number;
  readonly matmulGflops: number;
  readonly fractionOfMatmul: number;
  readonly scalingVsOneWorker: number | null;
}

const BATCH: Record<string, number> = { logistic: 32, mlp: 32, cnn: 64, lenet: 64, resnet: 64 };

function runWorkers(
  task: Omit<KernelTask, 'barrier' | 'parties'>,
  parties: number,
): Promise<KernelMeasurement[]> {
  const barrier = new SharedArrayBuffer(4);
  const entry = new URL('./worker.js', import.meta.url);
  return Promise.all(
    Array.from(
      { length: parties },
      (_, i) =>
        new Promise<KernelMeasurement>((resolve, reject) => {
          // Workers refuse per-process flags such as --expose-gc (the bench script sets it).
          const execArgv = process.execArgv.filter((a) => !/^--(input-type|expose-gc)/.test(a));
          const w = new Worker(entry, {
            workerData: { ...task, seed: task.seed + i, barrier, parties },
            execArgv,
          });
          w.once('message', (msg: { ok: boolean; m?: KernelMeasurement; error?: string }) => {
            void w.terminate();
            msg.ok
              ? resolve(msg.m!)
              : reject(new LetheError('worker-failed', `kernels worker: ${msg.error}`));
          });
          w.once('error', reject);
        }),
    ),
  );
}

/** `pnpm bench kernels`: batched HMP vs single products, FLOP rate vs matMul, 1 vs 2 workers. */
export async function runKernels(options: KernelsOptions): Promise<KernelResult[]> {
  const backends = options.backends ?? availableBackends();
  const models = options.models ?? listModels();
  const results: KernelResult[] = [];
  for (const backend of backends) {
    for (const model of models) {
      const batch = BATCH[model] ?? 32;
      // The cpu backend runs ~50x slower than wasm: fewer vectors keep it to seconds.
      const k =
        backend === 'cpu'
          ? Math.min(options.k, model === 'logistic' || model === 'mlp' ? 64 : 8)
          : options.k;
      const base = { backend, model, batch, k, seed: 1 };
      process.stderr.write(`kernels: ${model} on ${backend} (K = ${k}, batch ${batch}) ...\n`);
      const [one] = await runWorkers(
        {
          ...base,
          reps: options.quick ? 2 : 5,
          singles: options.quick ? 4 : Math.min(k, 32),
          matmul: true,
        },
        1,
      );
      const two = await runWorkers(
        { ...base, reps: options.quick ? 2 : 5, singles: 0, matmul: false },
        2,
      );
      const perVector1 = one!.batchedMs / k;
      // Two workers, each on its own block at the same time: throughput is 2k per block time.
      const perVector2 = Math.max(...two.map((m) => m.batchedMs)) / (2 * k);
      for (const [workers, perVector] of [
        [1, perVector1],
        [2, perVector2],
      ] as const) {
        const gflops = one!.flopsPerVector / (perVector / 1000) / 1e9;
        results.push({
          model,
          backend: one!.backend,
          workers,
          k,
          batch,
          msPerVectorBatched: perVector,
          msPerVectorSingle: workers === 1 ? one!.singleMs : null,
          batchedSpeedup: workers === 1 && one!.singleMs ? one!.singleMs / perVector : null,
          gflops,
          matmulGflops: one!.matmulGflops!,
          fractionOfMatmul: gflops / (workers * one!.matmulGflops!),
          scalingVsOneWorker: workers === 2 ? perVector1 / perVector2 : null,
        });
      }
    }
  }
  return results;
}

/** The table of measurements. */
export function kernelsOutput(results: readonly KernelResult[]): ExperimentOutput {
  const table = markdownTable(
    [
      'model',
      'backend',
      'workers',
      'K',
      'batch',
      'ms/vector batched',
      'ms/vector single',
      'batched speedup',
      'GFLOP/s',
      'matMul GFLOP/s',
      'of matMul (per core)',
      'vs 1 worker',
    ],
    results.map((r) => [
      r.model,
      r.backend,
      r.workers,
      r.k,
      r.batch,
      r.msPerVectorBatched,
      r.msPerVectorSingle ?? '',
      r.batchedSpeedup ? `${r.batchedSpeedup.toFixed(1)}x` : '',
      r.gflops,
      r.matmulGflops,
      `${(100 * r.fractionOfMatmul).toFixed(0)}%`,
      r.scalingVsOneWorker ? `${r.scalingVsOneWorker.toFixed(2)}x` : '',
    ]),
  );
  return {
    result: { backend: results[0]?.backend ?? 'none', results },
    markdown: `# Kernel benchmark\n\n${table}\n`,
    summary: table,
  };
}
