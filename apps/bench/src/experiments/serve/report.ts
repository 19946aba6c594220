import type { ExperimentOutput } from '../../experiment.js';
import { markdownTable } from '../../table.js';
import { SATURATED_DELETE_ROUTE, type ServeFlags, type ServeMeasurement } from './run.js';

const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

export function serveOutput(flags: ServeFlags, m: ServeMeasurement): ExperimentOutput {
  const table = markdownTable(
    ['route', 'requests', 'non-2xx', 'req/s', 'p50 ms', 'p99 ms', 'server p50 ms', 'server p99 ms'],
    Object.entries(m.routes).map(([route, r]) => [
      route === 'delete' ? `POST /v1/deletions (${r.load ?? 'saturated'})` : route,
      r.requests,
      r.non2xx + r.errors,
      r.throughputPerSecond.toFixed(0),
      ms(r.p50Ms),
      ms(r.p99Ms),
      ms(r.serverP50Ms),
      ms(r.serverP99Ms),
    ]),
  );
  const a = m.applications;
  const work = markdownTable(
    ['work', 'p50 ms', 'p99 ms'],
    [
      [
        `read + add one vector (${m.vectorWork.samples} ids after 20 warm-up; max ${ms(m.vectorWork.maxMs)} ms)`,
        ms(m.vectorWork.p50Ms),
        ms(m.vectorWork.p99Ms),
      ],
      [
        'the same, CPU time of the process meanwhile',
        ms(m.vectorWork.cpuP50Ms),
        ms(m.vectorWork.cpuP99Ms),
      ],
      [
        `application: read + add its vectors (${a.count} applications)`,
        ms(a.prepareP50Ms),
        ms(a.prepareP99Ms),
      ],
      ['application: noise + certificate', ms(a.releaseP50Ms), ms(a.releaseP99Ms)],
      [
        `application: store commit (erasure ${flags.erasure}, ${flags.scrubDelaySeconds > 0 ? `scrub within ${flags.scrubDelaySeconds} s, not timed here` : 'scrub included'})`,
        ms(a.commitP50Ms),
        ms(a.commitP99Ms),
      ],
    ],
  );
  const checks = markdownTable(
    ['check', 'value'],
    Object.entries(m.checks).map(([k, v]) => [k, String(v)]),
  );
  // With a fixed rate, `delete` holds that phase and the saturated one has its own key.
  const paced = flags.rate > 0 ? m.routes.delete : undefined;
  const del = m.routes[SATURATED_DELETE_ROUTE] ?? m.routes.delete!;
  const markdown = `# serve: the deletion service under load

${m.model} (n = ${m.n}, d = ${m.d}) on ${m.store}; ${flags.connections} connections, ${flags.seconds} s of deletions${flags.rate > 0 ? ` at ${flags.rate}/s offered (paced), then ${flags.seconds} s saturated (autocannon)` : ''};
policy ${flags.policy}${flags.policy === 'window' ? ` (${flags.windowRequests} requests or ${flags.windowSeconds} s)` : ''}; erasure ${flags.erasure}, ${flags.scrubDelaySeconds > 0 ? `scrubbed at most ${flags.scrubDelaySeconds} s after a commit, once for all commits meanwhile` : 'scrubbed inside each commit'}.
Durability: ${m.durable}.

${table}

${work}

${
  paced
    ? `At ${flags.rate}/s the load is open loop: request k is due at k / ${flags.rate} s and its latency counts from then, over
at most ${flags.connections} connections, after ${flags.warmUpSeconds} s of warm-up at the same rate (requests that forget nothing). The first ${m.n}
requests forget a sample each, so releases run while they are answered: their p99 is ${ms(paced.p99WhileReleasingMs ?? Number.NaN)} ms;
over all ${paced.requests}, p99.9 ${ms(paced.p999Ms ?? Number.NaN)} ms and max ${ms(paced.maxMs ?? Number.NaN)} ms. The generator itself sent its requests late
by up to ${ms(paced.clientSendLateP99Ms ?? Number.NaN)} ms (p99: its own waits for a core, counted in the latency).

`
    : ''
}The server's event loop, sampled every millisecond, was late by${
    m.eventLoopDelayAtRate
      ? ` p50 ${ms(m.eventLoopDelayAtRate.p50Ms)} ms, p99 ${ms(m.eventLoopDelayAtRate.p99Ms)} ms, max ${ms(m.eventLoopDelayAtRate.maxMs)} ms at ${flags.rate}/s and by`
      : ''
  }
p50 ${ms(m.eventLoopDelay.p50Ms)} ms, p99 ${ms(m.eventLoopDelay.p99Ms)} ms, max ${ms(m.eventLoopDelay.maxMs)} ms saturated.

Drained the queue in ${a.drainSeconds.toFixed(2)} s after the load ended. Consistent (ledger, store and weights agree exactly): **${m.consistent}**.

${checks}
`;
  const summary = `serve (${m.store}, ${m.model}): ${paced ? `POST /v1/deletions at ${flags.rate}/s: p50 ${ms(paced.p50Ms)} ms, p99 ${ms(paced.p99Ms)} ms, p99 while releasing ${ms(paced.p99WhileReleasingMs ?? Number.NaN)} ms (server p99 ${ms(paced.serverP99Ms)} ms); saturated: ` : 'POST /v1/deletions '}${del.throughputPerSecond.toFixed(0)} req/s, p50 ${ms(del.p50Ms)} ms, p99 ${ms(del.p99Ms)} ms (server p99 ${ms(del.serverP99Ms)} ms); one vector read + add p99 ${ms(m.vectorWork.p99Ms)} ms; store commit p50 ${ms(a.commitP50Ms)} ms; consistent: ${m.consistent}`;
  return {
    result: { ...m, flags: { ...flags } },
    markdown,
    summary,
  };
}
