// One of lethe-worker's threads (--threads N): takes jobs like a single-threaded worker, with its
// own tfjs backend and connections; stops after the job in hand when the process asks.
import { parentPort, workerData } from 'node:worker_threads';
import { startWorker, type WorkerOptions } from './worker.js';

interface ThreadData {
  readonly options: Omit<WorkerOptions, 'onStep' | 'log'>;
  readonly stepDelayMs: number;
}

const { options, stepDelayMs } = workerData as ThreadData;
const pause = new Int32Array(new SharedArrayBuffer(4));
const worker = await startWorker({
  ...options,
  onStep: stepDelayMs > 0 ? () => Atomics.wait(pause, 0, 0, stepDelayMs) : undefined,
});
parentPort!.on('message', (message) => {
  if (message === 'stop') void worker.stop().then(() => process.exit(0));
});
