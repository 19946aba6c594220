// Drives the deletion service on loopback with autocannon, then checks that ledger, store and
// weights agree exactly.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildApp, DeletionService, loadServedModel, SERVICE_SCHEMA } from '@lethe/server';
import { progressLine } from '../../progress.js';
import { percentile } from '../../stats.js';

export interface ServeFlags {
  readonly store: 'pglite' | 'postgres';
  readonly model: string;
  readonly seconds: number;
  readonly connections: number;
  /** Offered deletions per second of the fixed-rate phase (0: none). */
  readonly rate: number;
  /** Seconds of warm-up at that rate before it is measured. */
  readonly warmUpSeconds: number;
  readonly policy: 'online' | 'window';
  readonly windowRequests: number;
  readonly windowSeconds: number;
  readonly erasure: 'rewrite' | 'vacuum';
  /** Seconds from a commit to the store's scrub (0: inside each commit). */
  readonly scrubDelaySeconds: number;
  readonly backend: string | undefined;
  readonly quick: boolean;
}

/** The saturated phase's key in `routes` when `delete` holds the fixed-rate phase. */
export const SATURATED_DELETE_ROUTE = 'POST /v1/deletions saturated';

export interface RouteResult {
  /** How the load was offered: open loop at a fixed rate, or saturated. */
  readonly load?: string;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly throughputPerSecond: number;
  /** Client-side latency (autocannon, 1 ms resolution above 1 ms). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Inside the server (Fastify's reply time), from each response. */
  readonly serverP50Ms: number;
  readonly serverP99Ms: number;
  /** At a fixed rate: client p99.9 and max, and the p99 of the requests that forget a sample. */
  readonly p999Ms?: number;
  readonly maxMs?: number;
  readonly p99WhileReleasingMs?: number;
  /** How late the generator itself sent requests (p99): its own waits for a core. */
  readonly clientSendLateP99Ms?: number;
}

export interface ServeMeasurement {
  readonly store: 'pglite' | 'postgres';
  readonly durable: string;
  readonly model: string;
  readonly n: number;
  readonly d: number;
  readonly routes: Record<string, RouteResult>;
  readonly vectorWork: {
    readonly samples: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
    /** The process's CPU time (all its threads) over each read + add. */
    readonly cpuP50Ms: number;
    readonly cpuP99Ms: number;
    /** Garbage collections during the loop (all of them), and their total time. */
    readonly collections: number;
    readonly collectionsMs: number;
    /** The five slowest on the clock, with their CPU time and the collections within them. */
    readonly slowest: readonly {
      readonly ms: number;
      readonly cpuMs: number;
      readonly gcMs: number;
    }[];
  };
  readonly applications: {
    readonly count: number;
    readonly samplesForgotten: number;
    readonly prepareP50Ms: number;
    readonly prepareP99Ms: number;
    readonly releaseP50Ms: number;
    readonly releaseP99Ms: number;
    readonly commitP50Ms: number;
    readonly commitP99Ms: number;
    readonly drainSeconds: number;
  };
  /** The server's event-loop delay while the deletions ran (1 ms sampling), saturated. */
  readonly eventLoopDelay: {
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
  /** The same at the fixed rate. */
  readonly eventLoopDelayAtRate?: {
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly maxMs: number;
  };
  readonly consistent: boolean;
  readonly checks: Record<string, boolean | number>;
}

const ADMIN = 'bench-admin-token';

interface LoadResult {
  requests: number;
  non2xx: number;
  errors: number;
  duration: number;
  p50: number;
  p99: number;
  p999?: number;
  max?: number;
  p99First?: number;
  sendLateP99?: number;
}

/** Runs autocannon in a child process (load-child.ts) against `url`. */
function load(spec: {
  url: string;
  seconds: number;
  connections: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  deleteOf?: number;
  rate?: number;
  warmUp?: boolean;
}): Promise<LoadResult> {
  const child = fileURLToPath(new URL('./load-child.js', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [child, JSON.stringify(spec)],
      { timeout: (spec.seconds + 60) * 1000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`load generator failed: ${error.message} ${stderr}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
      },
    );
  });
}

export async function runServe(flags: ServeFlags): Promise<ServeMeasurement> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-bench-serve-'));
  let pgServer:
    | {
        url(db?: string): string;
        stop(): Promise<void>;
        client(db?: string): Promise<{ query(s: string): Promise<unknown>; end(): Promise<void> }>;
      }
    | undefined;
  try {
    const served = await loadServedModel(flags.model, flags.backend);
    let databaseUrl: string | undefined;
    if (flags.store === 'postgres') {
      const pgTest = await import('@lethe/vitest-config/postgres');
      if (!pgTest.serverPresent) {
        throw new Error(
          '--store postgres needs a Postgres server binary: apt-get install postgresql',
        );
      }
      pgServer = await pgTest.startServer();
      const admin = await pgServer.client();
      await admin.query('CREATE DATABASE bench');
      await admin.end();
      databaseUrl = pgServer.url('bench');
    }
    const progress = progressLine('serve');
    const service = await DeletionService.open({
      model: served,
      ...(databaseUrl === undefined ? { dataDir: dir } : { databaseUrl }),
      adminToken: ADMIN,
      erasure: flags.erasure,
      scrubDelaySeconds: flags.scrubDelaySeconds,
      policy:
        flags.policy === 'online'
          ? { kind: 'online' }
          : { kind: 'window', requests: flags.windowRequests, seconds: flags.windowSeconds },
      // A budget that does not run out during the run: the service's own behaviour is measured.
      budget: { epsilon: 1e6, delta: 0.5 },
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const timings = new Map<string, number[]>();
    const app = await buildApp(service, {
      rateLimitPerMinute: 1e9,
      onTiming: (route, method, status, ms) => {
        if (status >= 300) return;
        const key = `${method} ${route}`;
        const list = timings.get(key) ?? [];
        if (list.length === 0) timings.set(key, list);
        list.push(ms);
      },
    });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const n = served.data.n;
      const d = served.model.d;
      const store = service.store;
      const original = Float32Array.from((await store.headWeights()) ?? served.original);
      const allIds = Array.from({ length: n }, (_, i) => i);
      const vectors = await store.readRows(allIds);

      // The vector work of one single-id deletion, as the service does it: read the row (through
      // the store's worker thread) and add it to the weights.
      // The first 20 are warm-up (first calls of the path) and are not counted.
      // Beside the wall time, the CPU time the process spent meanwhile: an iteration slow on the
      // clock but not in CPU was waiting (for a core), not working.
      // The collections meanwhile are recorded, and the garbage of the reads above (31 MB for
      // MNIST) is collected first (--expose-gc), so that the loop does not pay for the harness.
      const vectorMs: number[] = [];
      const vectorCpuMs: number[] = [];
      const vectorStart: number[] = [];
      const gcs: { start: number; ms: number; kind: number }[] = [];
      const gcObserver = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
          gcs.push({ start: e.startTime, ms: e.duration, kind });
        }
      });
      (globalThis as { gc?: () => void }).gc?.();
      gcObserver.observe({ entryTypes: ['gc'] });
      const w = Float32Array.from(original);
      for (let i = 0; i < Math.min(n, 320); i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const row = await store.readRows([i]);
        for (let j = 0; j < d; j++) w[j]! += row[j]!;
        const t1 = performance.now();
        const c1 = process.cpuUsage(c0);
        if (i >= 20) {
          vectorStart.push(t0);
          vectorMs.push(t1 - t0);
          vectorCpuMs.push((c1.user + c1.system) / 1000);
        }
      }
      // Entries are delivered after the loop; give them a turn.
      await new Promise((r) => setTimeout(r, 10));
      gcObserver.disconnect();
      const gcWithin = (k: number) =>
        gcs
          .filter(
            (g) => g.start < vectorStart[k]! + vectorMs[k]! && g.start + g.ms > vectorStart[k]!,
          )
          .reduce((sum, g) => sum + g.ms, 0);

      const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
      // First at a fixed offered rate (latency of a service that keeps up: the first n requests
      // forget real samples), then as fast as the connections go (throughput; at saturation the
      // latency is the connections' queue, connections / throughput by Little's law).
      const deleteLoad = (rate: number | undefined) =>
        load({
          url,
          seconds: flags.seconds,
          connections: flags.connections,
          method: 'POST',
          path: '/v1/deletions',
          headers,
          deleteOf: n,
          ...(rate === undefined ? {} : { rate }),
        });
      let atRate: { result: LoadResult; server: number[] } | undefined;
      const rateLoopDelay = monitorEventLoopDelay({ resolution: 1 });
      let warmUp: LoadResult | undefined;
      if (flags.rate > 0 && flags.warmUpSeconds > 0) {
        // A service is measured warm: first the same rate of requests that forget nothing (a
        // submit-only caller naming unknown subject keys: accepted, then done with the next
        // release), so that the measured phase does not time the first calls of every path.
        const created = await fetch(`${url}/v1/tokens`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ name: 'bench-warm-up', scopes: ['submit'] }),
        });
        const { token } = (await created.json()) as { token: string };
        progress(0, `warm-up at ${flags.rate}/s for ${flags.warmUpSeconds} s`);
        warmUp = await load({
          url,
          seconds: flags.warmUpSeconds,
          connections: flags.connections,
          method: 'POST',
          path: '/v1/deletions',
          headers: { ...headers, authorization: `Bearer ${token}` },
          rate: flags.rate,
          warmUp: true,
        });
        await service.idle(600_000);
        timings.set('warm-up', timings.get('POST /v1/deletions') ?? []);
        timings.delete('POST /v1/deletions');
      }
      if (flags.rate > 0) {
        progress(0, `POST /v1/deletions at ${flags.rate}/s for ${flags.seconds} s`);
        rateLoopDelay.enable();
        const result = await deleteLoad(flags.rate);
        rateLoopDelay.disable();
        await service.idle(600_000);
        atRate = { result, server: timings.get('POST /v1/deletions') ?? [] };
        timings.delete('POST /v1/deletions');
      }
      progress(0, `POST /v1/deletions, saturated, for ${flags.seconds} s`);
      // How long the server's event loop was blocked meanwhile (PGlite queries, collections).
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      loopDelay.enable();
      const del = await deleteLoad(undefined);
      loopDelay.disable();
      const drainStart = performance.now();
      await service.idle(600_000);
      const drainSeconds = (performance.now() - drainStart) / 1000;

      const [first] = await service.db.query<{ id: string }>(
        `SELECT id FROM ${SERVICE_SCHEMA}.requests ORDER BY seq LIMIT 1`,
      );
      const readSeconds = Math.max(2, flags.seconds / 4);
      const reads: [string, string, Record<string, string>][] = [
        ['GET /v1/deletions/:id', `/v1/deletions/${first!.id}`, headers],
        ['GET /v1/releases', '/v1/releases?limit=5', headers],
        ['GET /v1/weights', '/v1/weights', headers],
        ['GET /health', '/health', {}],
      ];
      const routes: Record<string, RouteResult> = {};
      const summarize = (key: string, r: LoadResult): RouteResult => {
        const server = timings.get(key) ?? [];
        return {
          requests: r.requests,
          non2xx: r.non2xx,
          errors: r.errors,
          throughputPerSecond: r.requests / r.duration,
          p50Ms: r.p50,
          p99Ms: r.p99,
          serverP50Ms: server.length ? percentile(server, 50) : Number.NaN,
          serverP99Ms: server.length ? percentile(server, 99) : Number.NaN,
          ...(r.p999 === undefined ? {} : { p999Ms: r.p999 }),
          ...(r.max === undefined ? {} : { maxMs: r.max }),
          ...(r.p99First === undefined ? {} : { p99WhileReleasingMs: r.p99First }),
          ...(r.sendLateP99 === undefined ? {} : { clientSendLateP99Ms: r.sendLateP99 }),
        };
      };
      const saturated = {
        load: `saturated, ${flags.connections} connections`,
        ...summarize('POST /v1/deletions', del),
      };
      if (atRate) {
        timings.set('at-rate', atRate.server);
        // `delete` is the phase the service's goals are about: a fixed offered rate, open loop.
        routes.delete = {
          load: `open loop at ${flags.rate}/s`,
          ...summarize('at-rate', atRate.result),
        };
        routes[SATURATED_DELETE_ROUTE] = saturated;
      } else {
        routes.delete = saturated;
      }
      if (warmUp) routes[`warm-up at ${flags.rate}/s`] = summarize('warm-up', warmUp);
      for (const [i, [key, path, h]] of reads.entries()) {
        progress((i + 1) / (reads.length + 1), `${key} for ${readSeconds} s`);
        routes[key] = summarize(
          key,
          await load({
            url,
            seconds: readSeconds,
            connections: flags.connections,
            method: 'GET',
            path,
            headers: h,
          }),
        );
      }
      progress(1, 'checking ledger, store and weights');

      // Ledger, store and weights agree: the head weights are the original plus exactly the
      // applied vectors, in ledger order, summed as the unlearner sums them.
      const ledger = await store.deletions();
      const seen = new Set<number>();
      let twice = 0;
      const expected = Float32Array.from(original);
      for (const entry of ledger) {
        for (const id of entry.ids) {
          if (seen.has(id)) twice++;
          seen.add(id);
        }
        let delta: Float32Array;
        if (entry.ids.length === 1) {
          delta = vectors.subarray(entry.ids[0]! * d, entry.ids[0]! * d + d);
        } else {
          const sum = new Float64Array(d);
          for (const id of entry.ids) for (let j = 0; j < d; j++) sum[j]! += vectors[id * d + j]!;
          delta = Float32Array.from(sum);
        }
        for (let j = 0; j < d; j++) expected[j]! += delta[j]!;
      }
      const head = (await store.headWeights()) ?? original;
      let maxDiff = 0;
      for (let j = 0; j < d; j++) maxDiff = Math.max(maxDiff, Math.abs(head[j]! - expected[j]!));
      const live = await store.liveIds();
      const liveErased = Array.from(live).filter((id) => seen.has(id)).length;
      const q = <T>(sql: string) => service.db.query<T>(sql);
      const [notDone] = await q<{ n: string }>(
        `SELECT count(*) AS n FROM ${SERVICE_SCHEMA}.requests WHERE state <> 'done'`,
      );
      const [accepted] = await q<{ n: string }>(
        `SELECT count(*) AS n FROM ${SERVICE_SCHEMA}.requests`,
      );
      const apps = await q<{ id: number; state: string }>(
        `SELECT id, state FROM ${SERVICE_SCHEMA}.applications ORDER BY id`,
      );
      const appsMatch =
        apps.length === ledger.length &&
        apps.every(
          (a, i) => a.state === 'committed' && ledger[i]!.requestId === `application-${a.id}`,
        );
      const checks = {
        requestsAccepted: Number(accepted!.n),
        requestsAcknowledged: del.requests - del.non2xx,
        requestsNotDone: Number(notDone!.n),
        ledgerEntries: ledger.length,
        samplesForgotten: seen.size,
        vectorsAppliedTwice: twice,
        forgottenStillLive: liveErased,
        liveRowsAddUp: live.length + seen.size === n,
        applicationsMatchLedger: appsMatch,
        weightsMaxAbsDiff: maxDiff,
      };
      const consistent =
        checks.requestsNotDone === 0 &&
        twice === 0 &&
        liveErased === 0 &&
        checks.liveRowsAddUp &&
        appsMatch &&
        maxDiff === 0 &&
        checks.requestsAccepted >= checks.requestsAcknowledged;
      const t = service.timings;
      const pick = (f: (x: (typeof t)[number]) => number, p: number) =>
        t.length ? percentile(t.map(f), p) : Number.NaN;
      return {
        store: flags.store,
        durable:
          flags.store === 'pglite'
            ? 'acknowledged after the request is committed to the PGlite WAL files (survives a process kill; PGlite does not fsync)'
            : 'acknowledged after COMMIT on the server (fsync on, synchronous_commit on)',
        model: flags.model,
        n,
        d,
        routes,
        vectorWork: {
          samples: vectorMs.length,
          p50Ms: percentile(vectorMs, 50),
          p99Ms: percentile(vectorMs, 99),
          maxMs: Math.max(...vectorMs),
          cpuP50Ms: percentile(vectorCpuMs, 50),
          cpuP99Ms: percentile(vectorCpuMs, 99),
          collections: gcs.length,
          collectionsMs: gcs.reduce((sum, g) => sum + g.ms, 0),
          slowest: vectorMs
            .map((ms, k) => ({ ms, cpuMs: vectorCpuMs[k]!, gcMs: gcWithin(k) }))
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 5),
        },
        applications: {
          count: t.length,
          samplesForgotten: seen.size,
          prepareP50Ms: pick((x) => x.prepareMs, 50),
          prepareP99Ms: pick((x) => x.prepareMs, 99),
          releaseP50Ms: pick((x) => x.releaseMs, 50),
          releaseP99Ms: pick((x) => x.releaseMs, 99),
          commitP50Ms: pick((x) => x.commitMs, 50),
          commitP99Ms: pick((x) => x.commitMs, 99),
          drainSeconds,
        },
        eventLoopDelay: {
          p50Ms: loopDelay.percentile(50) / 1e6,
          p99Ms: loopDelay.percentile(99) / 1e6,
          maxMs: loopDelay.max / 1e6,
        },
        ...(flags.rate > 0
          ? {
              eventLoopDelayAtRate: {
                p50Ms: rateLoopDelay.percentile(50) / 1e6,
                p99Ms: rateLoopDelay.percentile(99) / 1e6,
                maxMs: rateLoopDelay.max / 1e6,
              },
            }
          : {}),
        consistent,
        checks,
      };
    } finally {
      await app.close();
      await service.close();
    }
  } finally {
    await pgServer?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
