// An open-loop load generator at a fixed rate: request k is due at start + k / rate, whatever
// the earlier answers did, and its latency is counted from when it was due, not from when it
// was sent, so that a server (or a generator) that falls behind shows in the latency instead of
// thinning the load (coordinated omission). Requests go over at most `connections` keep-alive
// connections; one due while all are busy waits for one, and that wait counts too.
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

export interface LoadSpec {
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
  /** Warm-up: requests for unknown subject keys (accepted, done, nothing forgotten). */
  readonly warmUp?: boolean;
}

export interface PacedResult {
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  /** Seconds from the first request due to the last answer. */
  readonly duration: number;
  /** Latency from when each request was due, in ms. */
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  /** p99 of the first `deleteOf` requests (those that forget a sample, while releases run). */
  readonly p99First: number;
  /** How late the generator itself sent requests (its timer), p99 in ms. */
  readonly sendLateP99: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * This process's own HTTP client is cold when it starts: its first requests would time the
 * generator's compilation, not the server. A second of GET /health (cheap for the server,
 * not counted) warms it.
 */
async function warmClient(spec: LoadSpec): Promise<void> {
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const until = performance.now() + 1000;
  while (performance.now() < until) {
    await new Promise<void>((resolve) => {
      const req = request(
        { agent, host: url.hostname, port: url.port, method: 'GET', path: '/health' },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
    await new Promise((r) => setTimeout(r, 5));
  }
  agent.destroy();
}

export async function paced(
  spec: LoadSpec,
  body: ((k: number) => string) | undefined,
): Promise<PacedResult> {
  await warmClient(spec);
  return run(spec, body);
}

function run(spec: LoadSpec, body: ((k: number) => string) | undefined): Promise<PacedResult> {
  const rate = spec.rate!;
  const total = Math.max(1, Math.round(spec.seconds * rate));
  const interval = 1000 / rate;
  const url = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
  const latency = new Float64Array(total);
  const late = new Float64Array(total);
  let non2xx = 0;
  let errors = 0;
  let finished = 0;
  let next = 0;
  // A little ahead, so that the first due time is not already past.
  const start = performance.now() + 20;
  return new Promise((resolve) => {
    const done = () => {
      if (++finished < total) return;
      agent.destroy();
      if (process.env.LETHE_BENCH_RAW)
        writeFileSync(process.env.LETHE_BENCH_RAW, JSON.stringify(Array.from(latency)));
      const sorted = latency.slice().sort();
      resolve({
        requests: total - errors,
        non2xx,
        errors,
        duration: (performance.now() - start) / 1000,
        p50: quantile(sorted, 0.5),
        p99: quantile(sorted, 0.99),
        p999: quantile(sorted, 0.999),
        max: sorted[sorted.length - 1]!,
        p99First: quantile(latency.slice(0, spec.deleteOf ?? total).sort(), 0.99),
        sendLateP99: quantile(late.slice().sort(), 0.99),
      });
    };
    const send = (k: number, due: number) => {
      late[k] = performance.now() - due;
      const payload = body?.(k);
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: spec.method,
          path: spec.path,
          headers:
            payload === undefined
              ? spec.headers
              : { ...spec.headers, 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) non2xx++;
          res.resume();
          res.on('end', () => {
            latency[k] = performance.now() - due;
            done();
          });
        },
      );
      req.on('error', () => {
        errors++;
        latency[k] = performance.now() - due;
        done();
      });
      req.end(payload);
    };
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        send(next, start + next * interval);
        next++;
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, 20);
  });
}
