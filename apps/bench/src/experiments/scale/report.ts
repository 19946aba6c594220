import type { ExperimentOutput } from '../../experiment.js';
import { markdownTable } from '../../table.js';
import type { ScaleResult } from './run.js';

const f = (x: number, digits = 2) => x.toFixed(digits);

export function scaleOutput(r: ScaleResult): ExperimentOutput {
  const rows = [
    ['in process (1 thread)', f(r.inProcessSeconds), '', ''],
    ...r.processes.map((p) => [
      `pg-boss, ${p.count} lethe-worker process${p.count > 1 ? 'es' : ''}`,
      f(p.seconds),
      `${f(p.speedup)}x`,
      `${f(r.inProcessSeconds / p.seconds)}x`,
    ]),
  ];
  const load = (l: number[]) => l.map((v) => f(v)).join(' / ');
  const markdown = [
    '# Precompute on a pg-boss queue',
    '',
    `${r.n} samples, d = ${r.d}, ${r.steps} steps, ${r.blocks} blocks of ${r.blockSize} rows, backend ${r.backend}, ${r.cores} cores.`,
    '',
    markdownTable(['run', 'seconds', 'vs 1 process', 'vs in process'], rows),
    '',
    `Queue overhead (1 process against in process): ${f(100 * r.queueOverhead, 1)}%.`,
    `Queued rows equal the in-process rows bit for bit: ${r.identical ? 'yes' : 'NO'}.`,
    `Load average (1/5/15 min) before: ${load(r.loadAverage.before)}, after: ${load(r.loadAverage.after)}; other work on the machine slows the processes and lowers the speedup.`,
    '',
  ].join('\n');
  const two = r.processes.find((p) => p.count === 2);
  const summary = `in process ${f(r.inProcessSeconds)} s; ${r.processes
    .map((p) => `${p.count} proc ${f(p.seconds)} s`)
    .join(
      ', ',
    )}; 2 vs 1: ${two ? f(two.speedup) : '-'}x; overhead ${f(100 * r.queueOverhead, 1)}%; identical ${r.identical}; load ${load(r.loadAverage.before)}`;
  return { result: { ...r }, markdown, summary };
}
