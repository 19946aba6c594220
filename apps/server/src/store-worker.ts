// The approximator store runs in a worker thread: PGlite executes Postgres synchronously on the
// thread that calls it, and a deletion commit's VACUUM FULL and checkpoints take tens to hundreds
// of milliseconds, which on the main thread would stall every HTTP response meanwhile. Here they
// stall only this thread. The protocol: one message per store call, answered by id.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { accountantFromLedger, certifiedRelease, PrivacyBudget } from '@lethe/certify';
import type { ApproximatorStore } from '@lethe/store';
import { openPostgresStore } from '@lethe/store-postgres';
import pg from 'pg';
import type { CertifyInput, StoreWorkerData, WorkerCall, WorkerReply } from './store-proxy.js';

const data = workerData as StoreWorkerData;
const port = parentPort!;
let pool: pg.Pool | undefined;

function fail(error: unknown): WorkerReply['error'] {
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : undefined,
    message: String(e?.message ?? error),
    name: typeof e?.name === 'string' ? e.name : 'Error',
  };
}

async function open(): Promise<ApproximatorStore> {
  if ('dataDir' in data.target) {
    return openPostgresStore({ dataDir: data.target.dataDir }, data.identity, data.options);
  }
  pool = new pg.Pool({ connectionString: data.target.url, max: 1 });
  return openPostgresStore({ pool }, data.identity, data.options);
}

/** Typed arrays are handed back without a copy (the store returns its own copies). */
function transferables(value: unknown): ArrayBuffer[] {
  if (ArrayBuffer.isView(value)) return [value.buffer as ArrayBuffer];
  return [];
}

// Below the HTTP thread: on Linux a thread's nice value is its own, so the release's noise
// and the commit's erasure take the cores the acknowledgements leave, rather than a share of
// them. Elsewhere setpriority(0) would lower the whole process, so it is left alone.
if (process.platform === 'linux' && (data.niceness ?? 0) > 0) {
  try {
    setPriority(0, data.niceness!);
  } catch {
    // Not allowed here (a sandbox): the thread runs at the process's priority.
  }
}

try {
  const store = await open();
  port.postMessage({ id: 0, result: store.manifest, manifest: store.manifest } as WorkerReply);
  port.on('message', async (call: WorkerCall) => {
    try {
      let result: unknown;
      if (call.method === 'certify') {
        // The release is computed here too: drawing the exact discrete Gaussian noise for a
        // model's weights takes tens of milliseconds. The budget is the ledger's: every release
        // is recorded there in the commit of its deletion.
        const input = call.args[0] as CertifyInput;
        const budget = new PrivacyBudget(input.limit, {
          accountant: accountantFromLedger(await store.deletions()),
        });
        const { limit: _limit, ...options } = input;
        const released = certifiedRelease({ ...options, accountant: budget });
        result = {
          weights: released.weights,
          sigma: released.sigma,
          record: released.record,
          certificate: released.certificate,
        };
        port.postMessage({ id: call.id, result, manifest: store.manifest } as WorkerReply, [
          released.weights.buffer as ArrayBuffer,
        ]);
        return;
      }
      if (call.method === 'readBlock') {
        const block = await store.readBlock(call.args[0] as number, call.args[1] as number);
        result = { data: block.data, shape: block.shape };
        port.postMessage({ id: call.id, result, manifest: store.manifest } as WorkerReply, [
          block.data.buffer as ArrayBuffer,
        ]);
        return;
      }
      const fn = store[call.method as keyof ApproximatorStore] as (
        ...args: unknown[]
      ) => Promise<unknown>;
      result = await fn.apply(store, call.args);
      if (call.method === 'close') await pool?.end();
      port.postMessage(
        { id: call.id, result, manifest: store.manifest } as WorkerReply,
        transferables(result),
      );
    } catch (error) {
      port.postMessage({
        id: call.id,
        error: fail(error),
        manifest: store.manifest,
      } as WorkerReply);
    }
  });
} catch (error) {
  await pool?.end().catch(() => undefined);
  port.postMessage({ id: 0, error: fail(error) } as WorkerReply);
}
