import { parentPort, workerData } from 'node:worker_threads';
import { rebuildModel, useBackend } from '@lethe/autodiff';
import * as tf from '@tensorflow/tfjs-core';
import { ChunkedPoints } from './data-ops.js';
import type { PointsReply, PointsRequest, PointsTask } from './points-protocol.js';

// Entry point of a linearisation worker: its own tfjs backend (and its own wasm heap, which is
// why a share of a large model's points fits where all of them do not), one share of the
// samples linearised once, then Hessian-matrix products on request.
async function run(task: PointsTask): Promise<void> {
  const post = (m: PointsReply, transfer?: ArrayBuffer[]) =>
    parentPort!.postMessage(m, transfer ?? []);
  let points: ChunkedPoints | undefined;
  try {
    await useBackend(task.backend);
    const model = rebuildModel(task.model);
    points = new ChunkedPoints(model, task.data, task.weights, task.ids, task.chunk);
    post({ kind: 'ready' });
  } catch (err) {
    post({
      kind: 'error',
      message: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return;
  }
  const d = task.weights.length;
  parentPort!.on('message', (m: PointsRequest) => {
    try {
      const v = tf.tensor2d(m.v, [m.rows, d]);
      const hv = points!.hmp(v);
      v.dispose();
      const out = new Float32Array(hv.dataSync()); // a copy of its own, to transfer
      hv.dispose();
      post({ kind: 'hmp', id: m.id, out }, [out.buffer as ArrayBuffer]);
    } catch (err) {
      post({
        kind: 'error',
        message: err instanceof Error ? (err.stack ?? err.message) : String(err),
      });
    }
  });
}

void run(workerData as PointsTask);
