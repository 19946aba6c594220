import { useBackend } from '@lethe/autodiff';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RecollectExecutor, recollect, type TrainConfig, train } from '../src/index.js';
import { computeApproximators, DataTensors } from '../src/internals.js';
import { blobs, logistic } from './fixtures.js';

const data = blobs(40, 5, 3, 11);
const config: TrainConfig = {
  epochs: 2,
  batchSize: 8,
  lr: 0.2,
  lrDecay: 0.99,
  clip: 2,
  l2: 0.01,
  seed: 4,
};
const model = logistic(5, 3);

/** Runs each block on its own, last block first, as a queue's workers might. */
const blockByBlock: RecollectExecutor = {
  name: 'block-by-block',
  async run(work) {
    const out = new Float32Array(work.ids.length * work.model.d);
    const tensors = new DataTensors(work.model, work.data);
    let row = work.ids.length;
    for (const ids of [...work.blocks].reverse()) {
      row -= ids.length;
      const rows = computeApproximators({
        model: work.model,
        data: tensors,
        trajectory: work.trajectory,
        ids,
        blockSize: ids.length,
      });
      out.set(rows, row * work.model.d);
    }
    tensors.dispose();
    work.report(1);
    return out;
  },
};

describe('recollect with an executor', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  it('hands over the recursion blocks, whose rows equal one thread bit for bit', async () => {
    const { trajectory } = train(model, data, config);
    const ids = [39, 3, 17, 20, 0, 8, 31];
    const local = await recollect({ model, data, trajectory, ids, workers: 1, blockSize: 3 });
    let blocks: number[][] = [];
    const spy: RecollectExecutor = {
      name: 'spy',
      run(work) {
        blocks = work.blocks.map((b) => Array.from(b));
        return blockByBlock.run(work);
      },
    };
    const queued = await recollect({ model, data, trajectory, ids, blockSize: 3, executor: spy });
    expect(blocks).toEqual([[39, 3, 17], [20, 0, 8], [31]]);
    expect(Buffer.from(queued.vectors.buffer).equals(Buffer.from(local.vectors.buffer))).toBe(true);
    expect(queued.workers).toBe(0);
  });

  it('refuses an executor that returns the wrong number of values', async () => {
    const { trajectory } = train(model, data, config);
    const short: RecollectExecutor = { name: 'short', run: async () => new Float32Array(3) };
    await expect(
      recollect({ model, data, trajectory, ids: [1, 2], executor: short }),
    ).rejects.toThrow(/executor short returned 3 values, expected ids.length \* d = 36/);
  });
});
