// The load generator, in a process of its own so that it does not compete with the server for
// its event loop: runs autocannon as argv[2] (JSON) says and prints the result as one JSON line.
import autocannon from 'autocannon';

interface LoadSpec {
  readonly url: string;
  readonly seconds: number;
  readonly connections: number;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  /** For deletions: each request names sample k mod n with a new idempotency key. */
  readonly deleteOf?: number;
  /** Offered requests per second over all connections; absent: as fast as answers come. */
  readonly rate?: number;
}

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
let counter = 0;
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  ...(spec.rate === undefined ? {} : { overallRate: spec.rate }),
  requests: [
    {
      method: spec.method,
      path: spec.path,
      headers: spec.headers,
      ...(spec.deleteOf === undefined
        ? {}
        : {
            setupRequest: (req: Record<string, unknown>) => {
              const k = counter++;
              return {
                ...req,
                body: JSON.stringify({
                  sampleIds: [k % spec.deleteOf!],
                  idempotencyKey: `bench-${k}`,
                }),
              };
            },
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
