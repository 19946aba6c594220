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
    `${r.n} samples, d = ${r.d}, ${r.steps} steps, ${r.blocks} blocks of ${r.blockSize} rows in ${r.jobs} jobs, backend ${r.backend}, ${r.cores} cores.`,
    '',
    markdownTable(['run', 'seconds', 'vs 1 process', 'vs in process'], rows),
    '',
    `Medians of ${r.rounds.inProcess.length} interleaved round${r.rounds.inProcess.length > 1 ? 's' : ''}; each round's seconds: in process ${r.rounds.inProcess.map((x) => f(x)).join(', ')}; 1 process ${r.rounds.oneProcess.map((x) => f(x)).join(', ')}; 2 processes ${r.rounds.twoProcesses.map((x) => f(x)).join(', ')}.`,
    `Queue overhead: ${f(r.queueSeconds)} s of the 1-process run were not the worker's recursion (publishing the run, polls, loading the run, writing and collecting rows): ${f(100 * r.queueOverhead, 1)}% of the in-process time. End to end, 1 process took ${f(100 * r.endToEndOverhead, 1)}% longer than in process; that difference also holds the recursion's own speed drifting between runs on the shared machine.`,
    `Queued rows equal the in-process rows bit for bit: ${r.identical ? 'yes' : 'NO'}.`,
    `Load average (1/5/15 min) before: ${load(r.loadAverage.before)}, after: ${load(r.loadAverage.after)}; other work on the machine slows the processes and lowers the speedup.`,
    '',
  ].join('\n');
  const two = r.processes.find((p) => p.count === 2);
  const summary = `in process ${f(r.inProcessSeconds)} s; ${r.processes
    .map((p) => `${p.count} proc ${f(p.seconds)} s`)
    .join(
      ', ',
    )}; 2 vs 1: ${two ? f(two.speedup) : '-'}x; queue overhead ${f(100 * r.queueOverhead, 1)}% (end to end ${f(100 * r.endToEndOverhead, 1)}%); identical ${r.identical}; load ${load(r.loadAverage.before)}`;
  return { result: { ...r }, markdown, summary };
}
