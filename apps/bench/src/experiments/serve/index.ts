import { defineExperiment } from '../../experiment.js';
import { COMMON_FLAGS } from '../../flags.js';
import { serveOutput } from './report.js';
import { runServe, type ServeFlags } from './run.js';

export const serve = defineExperiment<ServeFlags>({
  name: 'serve',
  summary:
    'the deletion service under load on loopback: per-route throughput, p50/p99, then a consistency check',
  description: `Starts the deletion service (apps/server) in this process on 127.0.0.1 and drives it
with autocannon for a bounded time: POST /v1/deletions (one sample id per request, a new
idempotency key each, acknowledged once the request is committed to the ledger), first at a
fixed offered rate (--rate: the latency of a service that keeps up), then as fast as the
connections go (the throughput; at saturation latency is the connections' queue), then the read
routes. Afterwards it waits for every request to be applied and checks that ledger, store and
weights agree exactly: the head weights equal the original plus the applied vectors (read from
the store before the run), no vector applied twice, every request done. The vector work of each
application (read + add, and the store commit with the erasure) is timed inside the service.
The fixed-rate phase is open loop (each request due at k / rate, its latency counted from
then) after --warm-up seconds at that rate of requests that forget nothing;
LETHE_BENCH_RAW=FILE writes each of its latencies (ms, in order) to FILE.
--store postgres runs on a Postgres server started for the run (Debian's postgresql).
About a minute with the MNIST logistic model; --quick (blobs model, short runs) in under one.`,
  flags: {
    store: {
      type: 'string',
      choices: ['pglite', 'postgres'],
      help: 'system of record',
      default: 'pglite',
    },
    model: {
      type: 'string',
      choices: ['mnist-logistic', 'blobs-logistic'],
      help: 'served model',
      default: 'mnist-logistic (--quick blobs-logistic)',
    },
    seconds: {
      type: 'number',
      min: 1,
      help: 'load time of the delete route',
      default: '20 (--quick 8)',
    },
    connections: {
      type: 'integer',
      min: 1,
      max: 256,
      help: 'concurrent connections',
      default: '4',
    },
    rate: {
      type: 'number',
      min: 0,
      help: 'offered deletions per second of the fixed-rate phase (0: skip it)',
      default: '300',
    },
    'warm-up': {
      type: 'number',
      min: 0,
      help: 'seconds at --rate of requests that forget nothing, before the measured phase',
      default: '3 (--quick 1)',
    },
    policy: {
      type: 'string',
      choices: ['online', 'window'],
      help: 'release policy',
      default: 'window',
    },
    'window-requests': {
      type: 'integer',
      min: 1,
      help: 'window: requests per release',
      default: '256',
    },
    'window-seconds': {
      type: 'number',
      min: 0.05,
      help: 'window: seconds per release',
      default: '1',
    },
    erasure: {
      type: 'string',
      choices: ['rewrite', 'vacuum'],
      help: 'store erasure after a commit',
      default: 'rewrite',
    },
    'scrub-delay': {
      type: 'number',
      min: 0,
      help: "seconds from a commit to the store's scrub, once for all commits meanwhile (0: in each commit)",
      default: '5',
    },
    ...COMMON_FLAGS,
  },
  resolve(v) {
    const quick = v.boolean('quick');
    return {
      store: (v.string('store') ?? 'pglite') as ServeFlags['store'],
      model: v.string('model') ?? (quick ? 'blobs-logistic' : 'mnist-logistic'),
      seconds: v.number('seconds') ?? (quick ? 8 : 20),
      connections: v.number('connections') ?? 4,
      rate: v.number('rate') ?? 300,
      warmUpSeconds: v.number('warm-up') ?? (quick ? 1 : 3),
      policy: (v.string('policy') ?? 'window') as ServeFlags['policy'],
      windowRequests: v.number('window-requests') ?? 256,
      windowSeconds: v.number('window-seconds') ?? 1,
      erasure: (v.string('erasure') ?? 'rewrite') as ServeFlags['erasure'],
      scrubDelaySeconds: v.number('scrub-delay') ?? 5,
      backend: v.string('backend'),
      quick,
    };
  },
  async run(flags) {
    return serveOutput(flags, await runServe(flags));
  },
});
