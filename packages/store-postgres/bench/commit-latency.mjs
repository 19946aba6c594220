// commitDeletion latency: the median and 90th percentile over a few hundred commits, each
// forgetting one row, on PGlite (both erasure modes), on a Postgres server (Debian's postgresql,
// started here in a temporary directory; skipped when it is not installed) and, for comparison,
// on @lethe/store-sqlite. Usage, after `pnpm turbo run build`:
//   node packages/store-postgres/bench/commit-latency.mjs [--rows 1000] [--d 256] [--commits 300]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../dist/index.js';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
};
const rows = arg('rows', 1000);
const d = arg('d', 256);
const commits = arg('commits', 300);
const identity = {
  modelDigest: 'm',
  layoutDigest: 'l',
  trajectoryDigest: 't',
  d,
  dtype: 'float32',
};
const sha = (w) => createHash('sha256').update(new Uint8Array(w.buffer)).digest('hex');

async function measure(name, store) {
  const ids = Array.from({ length: rows }, (_, i) => i);
  const values = new Float32Array(rows * d).map((_, i) => (i % 1000) + 0.5);
  await store.writeRows(ids, values);
  let before = new Float32Array(d);
  const times = [];
  for (let k = 0; k < commits; k++) {
    const weights = new Float32Array(d).fill(k + 1);
    const t = performance.now();
    await store.commitDeletion({
      request: k,
      requestId: `r${k}`,
      ids: [k],
      mode: 'online',
      weights,
      weightsBeforeSha256: sha(before),
      erase: [k],
    });
    times.push(performance.now() - t);
    before = weights;
  }
  await store.close();
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2);
  console.log(
    `${name.padEnd(46)} median ${at(0.5).padStart(8)} ms   p90 ${at(0.9).padStart(8)} ms`,
  );
}

const dir = await mkdtemp(join(tmpdir(), 'lethe-commit-bench-'));
console.log(
  `commitDeletion of one row; store of ${rows} rows x d = ${d} float32; ${commits} commits`,
);
try {
  await measure(
    'PGlite, erasure rewrite + scrubWal (default)',
    await openPostgresStore({ dataDir: join(dir, 'a') }, identity, { create: true }),
  );
  await measure(
    'PGlite, rewrite + scrubWal, scrub deferred 1 s',
    await openPostgresStore({ dataDir: join(dir, 'c') }, identity, {
      create: true,
      scrubDelayMs: 1000,
    }),
  );
  await measure(
    'PGlite, erasure vacuum, no scrubWal',
    await openPostgresStore({ dataDir: join(dir, 'b') }, identity, {
      create: true,
      erasure: 'vacuum',
      scrubWal: false,
    }),
  );
  const server = await startServer(join(dir, 'server'));
  if (server === undefined) {
    console.log('Postgres server: not installed (apt-get install -y postgresql)');
  } else {
    try {
      for (const [name, options] of [
        ['server, erasure rewrite (default)', {}],
        ['server, erasure rewrite + scrubWal', { scrubWal: true }],
        ['server, rewrite, scrub deferred 1 s', { scrubDelayMs: 1000 }],
        ['server, erasure vacuum', { erasure: 'vacuum' }],
      ]) {
        const client = new pg.Client({ host: server.host, port: server.port, user: 'postgres' });
        await client.connect();
        const schema = `bench_${name.replace(/[^a-z]+/g, '_')}`;
        await measure(
          name,
          await openPostgresStore({ client }, identity, { create: true, schema, ...options }),
        );
        await client.end();
      }
    } finally {
      server.stop();
    }
  }
  const sqlite = join(import.meta.dirname, '../../store-sqlite/dist/index.js');
  if (existsSync(sqlite)) {
    const { openSqliteStore } = await import(sqlite);
    await measure(
      'SQLite (@lethe/store-sqlite)',
      await openSqliteStore(join(dir, 's.sqlite'), identity, { create: true }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** Debian's server in `dir`, on a unix socket there, run as postgres when this is root. */
async function startServer(dir) {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => b - a)[0]
    : undefined;
  if (version === undefined) return undefined;
  const bin = join(root, version, 'bin');
  const asRoot = process.getuid?.() === 0;
  const run = (tool, args) =>
    execFileSync(
      asRoot ? 'runuser' : join(bin, tool),
      asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args,
      { stdio: 'ignore' },
    );
  execFileSync('mkdir', ['-p', dir]);
  await chmod(dir, 0o777);
  await chmod(join(dir, '..'), 0o755);
  const port = 40000 + Math.floor(Math.random() * 20000);
  const data = join(dir, 'data');
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust']);
  run('pg_ctl', [
    '-D',
    data,
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses='' -c wal_recycle=off`,
    '-l',
    join(dir, 'log'),
    '-w',
    'start',
  ]);
  return { host: dir, port, stop: () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']) };
}
