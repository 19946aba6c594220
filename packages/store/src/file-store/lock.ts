import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreError } from '../errors.js';
import { LOCK_FILE } from './format.js';

interface LockOwner {
  pid: number;
  host: string;
}

/**
 * Takes the directory's lock file, so that two processes (or two opens in one process) do not
 * write the same store: opening also deletes files left by unfinished commits, which would
 * break a live writer's commit. A lock left by a process that died on this host is taken over.
 * Returns the function that releases it.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const me: LockOwner = { pid: process.pid, host: hostname() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(path, JSON.stringify(me), { flag: 'wx' });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreError(
          'io',
          `Cannot create the lock file ${path} of approximator store ${dir}: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    const owner = await readOwner(path);
    if (owner !== undefined && (owner.host !== me.host || isAlive(owner.pid))) {
      throw lockedError(dir, path, owner);
    }
    await rm(path, { force: true }); // stale: its owner died without closing the store
  }
  throw lockedError(dir, path, undefined);
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const owner = JSON.parse(await readFile(path, 'utf8')) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : undefined;
  } catch {
    return undefined; // unreadable: its writer died before finishing it
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

function lockedError(dir: string, path: string, owner: LockOwner | undefined): StoreError {
  let who = 'another process';
  if (owner !== undefined) {
    who =
      owner.pid === process.pid && owner.host === hostname()
        ? 'this process'
        : `process ${owner.pid} on ${owner.host}`;
  }
  return new StoreError(
    'locked',
    `Approximator store ${dir} is already open in ${who} (lock file ${path}); close it there first. If that process is gone, delete the lock file.`,
  );
}
