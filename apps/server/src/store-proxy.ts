// An ApproximatorStore whose calls run in a worker thread (store-worker.ts), so that the store's
// synchronous Postgres work (PGlite) does not hold up the HTTP thread. Errors keep their codes.
import { Worker } from 'node:worker_threads';
import type { Certificate, CertifiedReleaseOptions, ReleaseRecord } from '@lethe/certify';
import { LetheError, type LetheErrorCode } from '@lethe/core';
import {
  type ApproximatorStore,
  type DeletionCommit,
  type DeletionEntry,
  type RowBlock,
  StoreError,
  type StoreErrorCode,
  type StoreIdentity,
  type StoreManifest,
} from '@lethe/store';
import type { OpenPostgresStoreOptions } from '@lethe/store-postgres';
import ndarray from 'ndarray';

export interface StoreWorkerData {
  readonly target: { readonly dataDir: string } | { readonly url: string };
  readonly identity: StoreIdentity;
  readonly options: OpenPostgresStoreOptions;
  /** Linux: the worker thread's nice value (0 to 19; higher yields the CPU sooner). */
  readonly niceness?: number;
}

type Method = Exclude<keyof ApproximatorStore, 'manifest'> | 'certify';

/** What the worker's certify call takes: certifiedRelease's options, the budget as a limit. */
export type CertifyInput = Omit<CertifiedReleaseOptions, 'accountant' | 'noise'> & {
  readonly limit: { readonly epsilon: number; readonly delta: number };
};

export interface CertifyResult {
  readonly weights: Float32Array;
  readonly sigma: number;
  readonly record: ReleaseRecord;
  readonly certificate: Certificate;
}

/** The store, and the certified release computed beside it in its thread. */
export interface WorkerStore extends ApproximatorStore {
  /** certifiedRelease against the budget `input.limit` with the ledger's releases spent. */
  certify(input: CertifyInput): Promise<CertifyResult>;
}

export interface WorkerCall {
  readonly id: number;
  readonly method: Method;
  readonly args: unknown[];
}

export interface WorkerReply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: { code: string | undefined; message: string; name: string };
  readonly manifest?: StoreManifest;
}

function rebuild(error: NonNullable<WorkerReply['error']>): Error {
  if (error.name === 'StoreError')
    return new StoreError(error.code as StoreErrorCode, error.message);
  if (error.code !== undefined) {
    return new LetheError(error.code as LetheErrorCode, error.message);
  }
  return new Error(error.message);
}

/**
 * Opens a Postgres approximator store in a worker thread. With `cacheRows`, the live rows are
 * also kept in this thread's memory, so that reading a vector is no round trip and no Postgres
 * read (on PGlite a 31 KB row takes milliseconds to fetch and decode); a row is zeroed and
 * dropped from the cache as soon as the store has committed its erasure.
 */
export function openStoreInWorker(
  data: StoreWorkerData,
  options: { readonly cacheRows?: boolean } = {},
): Promise<WorkerStore> {
  const entry = new URL('../dist/store-worker.js', import.meta.url);
  // --input-type (set when the parent runs code from -e) does not apply to a file entry, and
  // workers refuse per-process flags such as --expose-gc.
  const execArgv = process.execArgv.filter((a) => !/^--(input-type|expose-gc)/.test(a));
  const worker = new Worker(entry, { workerData: data, execArgv });
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let manifest: StoreManifest | undefined;
  let next = 1;
  let closed = false;
  const failAll = (error: Error) => {
    for (const w of waiting.values()) w.reject(error);
    waiting.clear();
  };
  worker.on('message', (reply: WorkerReply) => {
    if (reply.manifest !== undefined) manifest = reply.manifest;
    const w = waiting.get(reply.id);
    if (w === undefined) return;
    waiting.delete(reply.id);
    if (reply.error !== undefined) w.reject(rebuild(reply.error));
    else w.resolve(reply.result);
  });
  worker.on('error', (error) => failAll(error));
  worker.on('exit', () => failAll(new StoreError('closed', 'the store worker thread has exited')));

  const call = <T>(method: Method, args: unknown[], transfer: ArrayBuffer[] = []): Promise<T> => {
    if (closed) {
      return Promise.reject(new StoreError('closed', `store: ${method} after close()`));
    }
    const id = next++;
    return new Promise<T>((resolve, reject) => {
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, method, args } satisfies WorkerCall, transfer);
    });
  };
  // The live ids, kept here so that has() (the unlearner asks it once per id of a deletion) is no
  // round trip to the worker. The store is locked to this opener, so no other writer exists; the
  // set follows every write that succeeded, and is read anew after a commit whose outcome is
  // unknown.
  let live = new Set<number>();
  const cache = new Map<number, Float32Array>();
  const forget = (ids: readonly number[]) => {
    for (const id of ids) {
      live.delete(id);
      cache.get(id)?.fill(0);
      cache.delete(id);
    }
  };
  const refresh = async () => {
    live = new Set(await call<Int32Array>('liveIds', []));
    for (const id of [...cache.keys()]) if (!live.has(id)) forget([id]);
  };
  const fill = async () => {
    const ids = [...live].sort((a, b) => a - b);
    for (let i = 0; i < ids.length; i += 256) {
      const chunk = ids.slice(i, i + 256);
      const rows = await call<Float32Array>('readRows', [chunk]);
      const d = rows.length / chunk.length;
      chunk.forEach((id, k) => cache.set(id, rows.subarray(k * d, (k + 1) * d)));
    }
  };
  const proxy: WorkerStore = {
    get manifest() {
      return manifest!;
    },
    writeRows: async (ids, rows) => {
      const list = Array.from(ids);
      await call('writeRows', [list, rows]);
      const d = rows.length / Math.max(1, list.length);
      list.forEach((id, k) => {
        live.add(id);
        if (options.cacheRows) cache.set(id, rows.slice(k * d, (k + 1) * d));
      });
    },
    readRows: async (ids) => {
      const list = Array.from(ids);
      const rows = list.map((id) => cache.get(id));
      if (list.length === 0 || rows.some((r) => r === undefined)) return call('readRows', [list]);
      const d = rows[0]!.length;
      const out = new Float32Array(list.length * d);
      rows.forEach((r, k) => out.set(r!, k * d));
      return out;
    },
    readBlock: async (start, count) => {
      const { data: values, shape } = await call<{ data: Float32Array; shape: number[] }>(
        'readBlock',
        [start, count],
      );
      return ndarray(values, shape) as RowBlock;
    },
    erase: async (ids) => {
      const list = Array.from(ids);
      await call('erase', [list]);
      forget(list);
    },
    commitDeletion: async (commit: DeletionCommit) => {
      const erase = Array.from(commit.erase);
      try {
        const entry = await call<DeletionEntry>('commitDeletion', [{ ...commit, erase }]);
        forget(erase);
        return entry;
      } catch (error) {
        await refresh().catch(() => undefined);
        throw error;
      }
    },
    deletions: () => call('deletions', []),
    headWeights: () => call('headWeights', []),
    has: async (id) => (Number.isInteger(id) && id >= 0 ? live.has(id) : call('has', [id])),
    liveIds: () => call('liveIds', []),
    certify: (input) => call<CertifyResult>('certify', [input]),
    close: async () => {
      if (closed) return;
      forget([...cache.keys()]);
      await call('close', []);
      closed = true;
      await worker.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    waiting.set(0, {
      resolve: () => {
        refresh()
          .then(() => (options.cacheRows ? fill() : undefined))
          .then(
            () => resolve(proxy),
            (error: Error) => {
              void worker.terminate();
              reject(error);
            },
          );
      },
      reject: (error) => {
        void worker.terminate();
        reject(error);
      },
    });
  });
}
