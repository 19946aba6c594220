// PGlite takes no lock on its data directory: two instances (in one process or two) would both
// run Postgres on the same files and corrupt them. The store therefore takes a lock file of its
// own before it starts PGlite: `lethe-store.lock` in the data directory, created exclusively,
// holding the pid and host of its owner. A lock whose process died on this host is taken over.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '@lethe/store';
import { storeIoError } from '@lethe/store/adapter-kit';

export const LOCK_FILE = 'lethe-store.lock';

/** Takes the data directory's lock; resolves to the function that releases it. */
export async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const me = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify(me), { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw storeIoError(`openPostgresStore (creating its lock file ${LOCK_FILE})`, dir, error);
      }
    }
    const owner = await readOwner(path);
    if (owner !== undefined && (owner.host !== me.host || isAlive(owner.pid))) {
      const who =
        owner.host !== me.host
          ? `process ${owner.pid} on ${owner.host}`
          : owner.pid === me.pid
            ? 'this process'
            : `process ${owner.pid}`;
      throw new StoreError(
        'locked',
        `Approximator store ${dir} is already open in ${who} (lock file ${LOCK_FILE}); close it there first. PGlite runs one Postgres per data directory. If that process is gone, delete the lock file.`,
      );
    }
    // Its owner died (or died writing it): take it over.
    await rm(path, { force: true });
  }
  throw new StoreError(
    'locked',
    `Approximator store ${dir}: another process took the lock file ${LOCK_FILE} while this one removed a stale one; retry.`,
  );
}

async function readOwner(path: string): Promise<{ pid: number; host: string } | undefined> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as { pid: number; host: string };
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
