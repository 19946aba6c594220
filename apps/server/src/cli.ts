#!/usr/bin/env node
// `pnpm serve`: starts the deletion service. With no flags: the bundled MNIST logistic model,
// PGlite in ./lethe-data, online releases, on http://127.0.0.1:8080.
import { parseArgs } from 'node:util';
import { isLetheError } from '@lethe/core';
import { buildApp } from './app.js';
import { loadServedModel } from './model.js';
import { DeletionService, type ReleasePolicy } from './service.js';

const HELP = `lethe-server: an online deletion service (certified unlearning, exactly once)

  --model NAME            mnist-logistic (default) or blobs-logistic
  --data-dir DIR          PGlite data directory (default ./lethe-data)
  --database-url URL      a Postgres server instead (or DATABASE_URL)
  --host HOST             default 127.0.0.1
  --port N                default 8080 (0: any free port)
  --policy P              online (default) or window
  --window-requests N     window: release after N requests (default 32)
  --window-seconds T      window: or after T seconds (default 5)
  --epsilon E --delta D   privacy of each release (default 1, 1e-5)
  --budget-epsilon E      total budget (default 20); --budget-delta D (default 1e-3)
  --erasure MODE          rewrite (default: VACUUM FULL after each commit) or vacuum
  --scrub-delay SECONDS   the store's scrub of erased vectors runs at most this long after a
                          deletion's commit, once for all deletions meanwhile (default 5; 0: in each commit)
  --rate-limit N          requests per minute per token (default 1200)

The admin token: LETHE_ADMIN_TOKEN, or printed once on the first start.
Prints one JSON line {"listening": url} on stdout when ready.`;

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) {
    throw new Error(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  }
  return x;
}

async function main(): Promise<void> {
  // `pnpm serve -- --flag` passes the '--' on.
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      model: { type: 'string' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      policy: { type: 'string' },
      'window-requests': { type: 'string' },
      'window-seconds': { type: 'string' },
      epsilon: { type: 'string' },
      delta: { type: 'string' },
      'budget-epsilon': { type: 'string' },
      'budget-delta': { type: 'string' },
      erasure: { type: 'string' },
      'scrub-delay': { type: 'string' },
      'rate-limit': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const policyName = values.policy ?? 'online';
  if (policyName !== 'online' && policyName !== 'window') {
    throw new Error(`--policy must be online or window, got ${JSON.stringify(policyName)}`);
  }
  const policy: ReleasePolicy =
    policyName === 'online'
      ? { kind: 'online' }
      : {
          kind: 'window',
          requests: num(values['window-requests'], 'window-requests', 32),
          seconds: num(values['window-seconds'], 'window-seconds', 5),
        };
  const erasure = values.erasure ?? 'rewrite';
  if (erasure !== 'rewrite' && erasure !== 'vacuum') {
    throw new Error(`--erasure must be rewrite or vacuum, got ${JSON.stringify(erasure)}`);
  }
  const databaseUrl = values['database-url'] ?? process.env.DATABASE_URL;
  const model = await loadServedModel(values.model ?? 'mnist-logistic');
  const service = await DeletionService.open({
    model,
    ...(databaseUrl === undefined
      ? { dataDir: values['data-dir'] ?? 'lethe-data' }
      : { databaseUrl }),
    policy,
    release: {
      epsilon: num(values.epsilon, 'epsilon', 1),
      delta: num(values.delta, 'delta', 1e-5),
    },
    budget: {
      epsilon: num(values['budget-epsilon'], 'budget-epsilon', 20),
      delta: num(values['budget-delta'], 'budget-delta', 1e-3),
    },
    erasure,
    scrubDelaySeconds: num(values['scrub-delay'], 'scrub-delay', 5),
    ...(process.env.LETHE_ADMIN_TOKEN ? { adminToken: process.env.LETHE_ADMIN_TOKEN } : {}),
  });
  const app = await buildApp(service, {
    rateLimitPerMinute: num(values['rate-limit'], 'rate-limit', 1200),
  });
  const url = await app.listen({
    host: values.host ?? '127.0.0.1',
    port: num(values.port, 'port', 8080),
  });
  process.stdout.write(`${JSON.stringify({ listening: url })}\n`);
  process.stderr.write(`lethe-server: serving ${model.name} on ${url} (status page at ${url}/)\n`);
  const stop = async () => {
    await app.close();
    await service.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const message = isLetheError(error) || error instanceof Error ? error.message : String(error);
  process.stderr.write(`lethe-server: ${message}\n`);
  process.exit(1);
});
