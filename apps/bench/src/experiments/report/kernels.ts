// kernels: batched Hessian-matrix products against single products, per model, backend and
// worker count.
import { chart, type Series } from '../../svg.js';
import { type Cell, figure, htmlTable } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

interface KernelRow {
  model: string;
  backend: string;
  workers: number;
  k: number;
  batch?: number;
  msPerVectorBatched: number;
  msPerVectorSingle: number | null;
  batchedSpeedup?: number | null;
  gflops?: number;
  matmulGflops?: number;
  fractionOfMatmul?: number;
}

export function kernelsSection(results: readonly LoadedResult[]): string {
  return results
    .map((r, i) => {
      const rows = (r.record as unknown as { results: KernelRow[] }).results;
      const keys = [...new Set(rows.map((x) => `${x.model} (${x.backend})`))];
      const series: Series[] = keys.map((key) => ({
        name: key,
        points: rows
          .filter((x) => `${x.model} (${x.backend})` === key)
          .map((x) => [x.workers, x.msPerVectorBatched] as const),
      }));
      const table: Cell[][] = rows.map((x) => [
        x.model,
        x.backend,
        x.workers,
        x.k,
        x.msPerVectorBatched,
        x.msPerVectorSingle,
        x.batchedSpeedup,
        x.gflops,
        x.fractionOfMatmul,
      ]);
      return [
        heading(3, `kernels: ${r.name}`, `kernels-${i + 1}`),
        htmlTable(
          [
            'model',
            'backend',
            'workers',
            'K',
            'ms / vector, batched',
            'ms / vector, single',
            'speed-up',
            'GFLOP/s',
            'of matMul',
          ],
          table,
        ),
        figure(
          chart(series, {
            title: 'Batched Hessian-matrix product',
            xLabel: 'worker threads',
            yLabel: 'ms per vector',
            logY: true,
          }),
          'One timing per point (the kernels experiment reports medians of its repetitions).',
        ),
        metadataBlock([r]),
      ].join('\n');
    })
    .join('\n');
}
