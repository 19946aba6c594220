// A real Postgres server for tests, from Debian's `postgresql` package: a temporary data
// directory (owned by the postgres user when the tests run as root, since Postgres refuses to run
// as root), initdb, pg_ctl start on a unix socket only, and stop and removal afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { dataPresent } from './data.js';

const ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin directory, e.g. /usr/lib/postgresql/15/bin. */
function findBin() {
  if (!existsSync(ROOT)) return undefined;
  const versions = readdirSync(ROOT)
    .filter((v) => existsSync(join(ROOT, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(ROOT, versions[0], 'bin');
}

export const POSTGRES_BIN = findBin();

export const serverPresent = dataPresent(
  POSTGRES_BIN === undefined
    ? join(ROOT, '<version>', 'bin', 'postgres')
    : join(POSTGRES_BIN, 'postgres'),
  'postgresql',
);

const isRoot = process.getuid?.() === 0;

function asOwner(bin, args) {
  const command = isRoot ? 'runuser' : bin;
  const full = isRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  return execFileSync(command, full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function startServer(settings = {}) {
  if (POSTGRES_BIN === undefined) throw new Error('apt-get install -y postgresql');
  const bin = POSTGRES_BIN;
  const dir = await mkdtemp(join(tmpdir(), 'lethe-pg-server-'));
  const dataDir = join(dir, 'data');
  const port = 40000 + Math.floor(Math.random() * 20000);
  if (isRoot) {
    execFileSync('chown', ['postgres:postgres', dir]);
    await chmod(dir, 0o755);
  }
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=''",
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
  ].join(' ');
  try {
    asOwner(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    asOwner(join(bin, 'pg_ctl'), [
      '-D',
      dataDir,
      '-o',
      options,
      '-l',
      join(dir, 'log'),
      '-w',
      'start',
    ]);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const clients = [];
  return {
    host: dir,
    port,
    dataDir,
    url(database = 'postgres') {
      return `postgres://postgres@/${database}?host=${encodeURIComponent(dir)}&port=${port}`;
    },
    async client(database = 'postgres') {
      const client = new pg.Client({ host: dir, port, user: 'postgres', database });
      await client.connect();
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      try {
        asOwner(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
