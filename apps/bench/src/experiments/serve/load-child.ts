// The load generator, in a process of its own so that it does not compete with the server for
// its event loop. Saturated (no rate): autocannon as argv[2] (JSON) says. At a fixed rate: an
// open-loop generator of its own (paced.ts), because autocannon's rate is a per-second cap per
// connection: it sends each second's requests back to back at the start of the second, so
// its "300 a second" is a saturated burst for half of each second. Prints one JSON line.
import autocannon from 'autocannon';
import { type LoadSpec, paced } from './paced.js';

const spec = JSON.parse(process.argv[2]!) as LoadSpec;

/** For deletions: each request names sample k mod n with a new idempotency key. */
function deletionBody(k: number): string {
  return JSON.stringify({ sampleIds: [k % spec.deleteOf!], idempotencyKey: `bench-${k}` });
}

/** Warm-up: a subject key the training set lacks, by a caller who is not told so. */
function warmUpBody(k: number): string {
  return JSON.stringify({ subjectKeys: [`warm-up-${k}`], idempotencyKey: `warm-up-${k}` });
}

if (spec.rate !== undefined) {
  const body = spec.warmUp ? warmUpBody : spec.deleteOf === undefined ? undefined : deletionBody;
  const result = await paced(spec, body);
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  let counter = 0;
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.seconds,
    requests: [
      {
        method: spec.method,
        path: spec.path,
        headers: spec.headers,
        ...(spec.deleteOf === undefined
          ? {}
          : {
              setupRequest: (req: Record<string, unknown>) => ({
                ...req,
                body: deletionBody(counter++),
              }),
            }),
      },
    ],
  });
  process.stdout.write(
    `${JSON.stringify({
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      duration: result.duration,
      p50: result.latency.p50,
      p99: result.latency.p99,
    })}\n`,
  );
}
