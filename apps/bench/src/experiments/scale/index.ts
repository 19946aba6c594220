import { defineExperiment } from '../../experiment.js';
import { COMMON_FLAGS, TRAINING_FLAGS } from '../../flags.js';
import { readTrainingFlags } from '../../setup.js';
import { scaleOutput } from './report.js';
import { runScale, type ScaleFlags } from './run.js';

export const scale = defineExperiment<ScaleFlags>({
  name: 'scale',
  summary: 'precompute as pg-boss jobs: 1 and 2 lethe-worker processes vs in-process recollect',
  description: `Trains a run, computes every approximator in this process (one thread), then
again through a pg-boss queue on Postgres with 1 and 2 lethe-worker processes (one thread each),
and compares: seconds, speedup of 2 processes over 1, queue overhead (1 process against in
process) and whether the queued rows equal the in-process rows bit for bit. Starts a temporary
Postgres server (Debian postgresql) unless --database names one. Records the load average, since
other work on the machine changes the times. Defaults: logistic MNIST, the paper's setting,
n 2000, 125 rows per block, 4 blocks per job, 3 interleaved rounds (medians; about 16 minutes on a quiet 2-core machine);
--quick: n 200, 3 epochs, 25 rows per block, one round.`,
  flags: {
    ...TRAINING_FLAGS,
    'block-size': {
      type: 'integer',
      min: 1,
      help: "rows per block (per Hessian-matrix product, the recursion's own)",
      default: '125 (--quick 25)',
    },
    'blocks-per-job': {
      type: 'integer',
      min: 1,
      help: 'blocks per pg-boss job (they share the per-step work)',
      default: '4',
    },
    rounds: {
      type: 'integer',
      min: 1,
      help: 'interleaved rounds of the three runs; the medians are reported',
      default: '3 (--quick 1)',
    },
    database: { type: 'string', help: 'Postgres URL to use instead of a temporary server' },
    ...COMMON_FLAGS,
  },
  resolve(v) {
    const base = readTrainingFlags(v);
    return {
      ...base,
      n: base.n ?? (base.quick ? 200 : 2000),
      blockSize: v.number('block-size') ?? (base.quick ? 25 : 125),
      blocksPerJob: v.number('blocks-per-job') ?? 4,
      rounds: v.number('rounds') ?? (base.quick ? 1 : 3),
      database: v.string('database'),
    };
  },
  async run(flags) {
    return scaleOutput(await runScale(flags));
  },
});
