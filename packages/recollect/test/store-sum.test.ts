// A deletion of more rows than one chunk is summed from a store a chunk at a time: the result
// must be the float64 sum of the rows in id order, as one read would give, and reads must come
// in chunks rather than one buffer of every row.
import { useBackend } from '@lethe/autodiff';
import { type ApproximatorStore, createMemoryStore } from '@lethe/store';
import { beforeAll, describe, expect, it } from 'vitest';
import { finalWeights, recollect, storeIdentity, train, Unlearner } from '../src/index.js';
import { blobs, logistic } from './fixtures.js';

const model = logistic(4, 3);
const data = blobs(90, 4, 3, 7);
const config = { epochs: 2, batchSize: 9, lr: 0.2, lrDecay: 1, l2: 0.01, clip: 5, seed: 3 };

beforeAll(async () => {
  await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
});

describe('Unlearner over a store, a large deletion', () => {
  it('sums the rows of 70 ids in chunks to the float64 sum in id order', async () => {
    const { trajectory } = train(model, data, config);
    const inner = createMemoryStore(storeIdentity(model, trajectory));
    await recollect({ model, data, trajectory, store: inner, workers: 1 });
    const all = await inner.readRows(Array.from({ length: data.n }, (_, i) => i));
    const reads: number[] = [];
    const read = inner.readRows.bind(inner);
    const store: ApproximatorStore = inner;
    store.readRows = (ids) => {
      reads.push(ids.length);
      return read(ids);
    };
    const ids = Array.from({ length: 70 }, (_, i) => (i * 7) % data.n).sort((a, b) => a - b);
    const unlearner = await Unlearner.open(model, trajectory, { kind: 'store', store });
    const pending = await unlearner.prepareForget(ids);

    const sum = new Float64Array(model.d);
    for (const id of ids) for (let j = 0; j < model.d; j++) sum[j]! += all[id * model.d + j]!;
    const delta = Float32Array.from(sum);
    const expected = Float32Array.from(finalWeights(trajectory));
    for (let j = 0; j < model.d; j++) expected[j]! += delta[j]!;

    expect(Array.from(pending.weights)).toEqual(Array.from(expected));
    expect(reads).toEqual([32, 32, 6]);
  });
});
