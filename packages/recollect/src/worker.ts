import { parentPort, workerData } from 'node:worker_threads';
import { rebuildModel, useBackend } from '@lethe/autodiff';
import { DataTensors } from './data.js';
import { computeApproximators } from './recursion.js';
import type { WorkerMessage, WorkerTask } from './worker-protocol.js';

// Entry point of a recollection worker thread: its own tfjs backend, one contiguous share
// of the samples, the whole trajectory.
async function run(task: WorkerTask): Promise<void> {
  const post = (m: WorkerMessage, transfer?: ArrayBuffer[]) =>
    parentPort!.postMessage(m, transfer ?? []);
  try {
    for (const m of task.setupModules) await import(m);
    await useBackend(task.backend);
    const model = rebuildModel(task.model);
    const data = new DataTensors(model, task.data);
    let last = 0;
    const vectors = computeApproximators({
      model,
      data,
      trajectory: task.trajectory,
      ids: task.ids,
      initial: task.initial,
      blockSize: task.blockSize,
      onStep: (step, total) => {
        const now = Date.now();
        if (now - last > 200 || step === total) {
          last = now;
          post({ kind: 'progress', step, total });
        }
      },
    });
    data.dispose();
    post({ kind: 'done', vectors }, [vectors.buffer as ArrayBuffer]);
  } catch (err) {
    post({
      kind: 'error',
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
}

void run(workerData as WorkerTask);
