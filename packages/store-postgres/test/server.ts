// A real Postgres server for the tests, from Debian's `postgresql` package: a temporary data
// directory (owned by the postgres user when the tests run as root, since Postgres refuses to run
// as root), initdb, pg_ctl start on a unix socket only, and stop and removal afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dataPresent } from '@lethe/vitest-config/data';
import pg from 'pg';

const ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin directory, e.g. /usr/lib/postgresql/15/bin. */
function findBin(): string | undefined {
  if (!existsSync(ROOT)) return undefined;
  const versions = readdirSync(ROOT)
    .filter((v) => existsSync(join(ROOT, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(ROOT, versions[0], 'bin');
}

export const POSTGRES_BIN = findBin();

/**
 * True when a Postgres server binary is installed; otherwise false (the tests skip, titled with
 * the package), or with LETHE_REQUIRE_DATA=1 an error naming the apt package.
 */
export const serverPresent = dataPresent(
  POSTGRES_BIN === undefined
    ? join(ROOT, '<version>', 'bin', 'postgres')
    : join(POSTGRES_BIN, 'postgres'),
  'postgresql',
);

export interface TestServer {
  /** The unix socket directory: node-postgres' `host`. */
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** A client connected to `database` as the superuser postgres. */
  client(database?: string): Promise<pg.Client>;
  stop(): Promise<void>;
}

const isRoot = process.getuid?.() === 0;

function asOwner(bin: string, args: string[]): string {
  const command = isRoot ? 'runuser' : bin;
  const full = isRoot ? ['-u', 'postgres', '--', bin, ...args] : args;
  return execFileSync(command, full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Starts a server with `settings` (e.g. wal_recycle=off) in a fresh directory under /tmp,
 * listening only on a unix socket there.
 */
export async function startServer(settings: Record<string, string> = {}): Promise<TestServer> {
  if (POSTGRES_BIN === undefined) throw new Error('apt-get install -y postgresql');
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
    asOwner(join(POSTGRES_BIN, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
    ]);
    asOwner(join(POSTGRES_BIN, 'pg_ctl'), [
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
  const clients: pg.Client[] = [];
  return {
    host: dir,
    port,
    dataDir,
    async client(database = 'postgres') {
      const client = new pg.Client({ host: dir, port, user: 'postgres', database });
      await client.connect();
      clients.push(client);
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      try {
        asOwner(join(POSTGRES_BIN!, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
