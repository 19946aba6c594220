// An ApproximatorStore whose calls run in a worker thread (store-worker.ts), so that the store's
// synchronous Postgres work (PGlite) does not hold up the HTTP thread. Errors keep their codes.
import { Worker } from 'node:worker_threads';
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
}

type Method = Exclude<keyof ApproximatorStore, 'manifest'>;

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
  if (error.code !== undefined && error.name === 'LetheError') {
    return new LetheError(error.code as LetheErrorCode, error.message);
  }
  return new Error(error.message);
}

/** Opens a Postgres approximator store in a worker thread. */
export function openStoreInWorker(data: StoreWorkerData): Promise<ApproximatorStore> {
  const entry = new URL('../dist/store-worker.js', import.meta.url);
  const worker = new Worker(entry, { workerData: data });
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
  const proxy: ApproximatorStore = {
    get manifest() {
      return manifest!;
    },
    writeRows: (ids, rows) => call('writeRows', [Array.from(ids), rows]),
    readRows: (ids) => call('readRows', [Array.from(ids)]),
    readBlock: async (start, count) => {
      const { data: values, shape } = await call<{ data: Float32Array; shape: number[] }>(
        'readBlock',
        [start, count],
      );
      return ndarray(values, shape) as RowBlock;
    },
    erase: (ids) => call('erase', [Array.from(ids)]),
    commitDeletion: (commit: DeletionCommit) =>
      call<DeletionEntry>('commitDeletion', [{ ...commit, erase: Array.from(commit.erase) }]),
    deletions: () => call('deletions', []),
    headWeights: () => call('headWeights', []),
    has: (id) => call('has', [id]),
    liveIds: () => call('liveIds', []),
    close: async () => {
      if (closed) return;
      await call('close', []);
      closed = true;
      await worker.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    waiting.set(0, {
      resolve: () => resolve(proxy),
      reject: (error) => {
        void worker.terminate();
        reject(error);
      },
    });
  });
}
