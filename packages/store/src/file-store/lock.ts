import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, storeIoError } from '../errors.js';
import { LOCK_FILE } from './format.js';

interface LockOwner {
  pid: number;
  host: string;
}

/** Lock files are `store.lock.<pid>.<random>`; a bare `store.lock` is a lock of format 1.0. */
export function isLockFile(name: string): boolean {
  return name === LOCK_FILE || (name.startsWith(`${LOCK_FILE}.`) && !name.endsWith('.tmp'));
}

const ATTEMPTS = 8;

/**
 * Takes the directory's lock, so that two processes (or two opens in one process) do not write
 * the same store: opening also deletes files left by unfinished commits, which would break a
 * live writer's commit. A lock left by a process that died on this host is taken over.
 *
 * Each opener writes a lock file of its own (complete before it appears: written to a temporary
 * name, then renamed), then lists the directory: if any other lock's owner is alive it removes
 * its own and backs off. Whoever finds no other live lock after creating its own holds the lock.
 * Two openers cannot both hold it: the later of the two to create its file lists after the
 * other created its own, so it sees that one. Both may back off at once; a few randomized retries
 * settle that. Dead owners' files (and unreadable ones, whose writer died mid-write) are removed
 * by the holder. Returns the function that releases the lock.
 */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const me: LockOwner = { pid: process.pid, host: hostname() };
  const mine = `${LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`;
  const path = join(dir, mine);
  const tmp = `${path}.tmp`;
  let lastOwner: LockOwner | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      await writeFile(tmp, JSON.stringify(me));
      await rename(tmp, path);
    } catch (error) {
      await rm(tmp, { force: true });
      throw storeIoError(`openFileStore (creating its lock file ${mine})`, dir, error);
    }
    const others = (await readdir(dir)).filter((f) => isLockFile(f) && f !== mine);
    const stale: string[] = [];
    let live: LockOwner | undefined;
    for (const name of others) {
      const owner = await readOwner(join(dir, name));
      if (owner === 'gone') continue;
      if (owner !== undefined && (owner.host !== me.host || isAlive(owner.pid))) live = owner;
      else stale.push(name);
    }
    if (live === undefined) {
      // Held: clear what dead owners left.
      await Promise.all(stale.map((name) => rm(join(dir, name), { force: true })));
      return () => rm(path, { force: true });
    }
    lastOwner = live;
    await rm(path, { force: true });
    if (live.pid === me.pid && live.host === me.host) break; // this process holds it: no retry
    await sleep(1 + Math.floor(Math.random() * 4 * (attempt + 1)));
  }
  throw lockedError(dir, lastOwner);
}

/** The owner recorded in a lock file; undefined when unreadable; 'gone' when it vanished. */
async function readOwner(path: string): Promise<LockOwner | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : undefined;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.host === 'string' ? owner : undefined;
  } catch {
    return undefined; // empty or cut short: its writer died before finishing it
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

function lockedError(dir: string, owner: LockOwner | undefined): StoreError {
  let who = 'another process';
  if (owner !== undefined) {
    who =
      owner.pid === process.pid && owner.host === hostname()
        ? 'this process'
        : `process ${owner.pid} on ${owner.host}`;
  }
  return new StoreError(
    'locked',
    `Approximator store ${dir} is already open in ${who} (lock files ${LOCK_FILE}.*); close it there first. If that process is gone, delete its lock file.`,
  );
}
