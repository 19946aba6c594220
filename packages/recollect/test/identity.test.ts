import { useBackend } from '@lethe/autodiff';
import { isLetheError } from '@lethe/core';
import { createMemoryStore } from '@lethe/store';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildSchedule,
  recollect,
  repair,
  retrain,
  runDigests,
  secondOrderUpdate,
  storeIdentity,
  type TrainConfig,
  train,
  Unlearner,
} from '../src/index.js';
import { blobs, logistic, storeFor } from './fixtures.js';

const data = blobs(64, 4, 3, 2);
const config: TrainConfig = {
  epochs: 2,
  batchSize: 16,
  lr: 0.2,
  lrDecay: 0.99,
  clip: 5,
  l2: 0.01,
  seed: 4,
};
const model = logistic(4, 3);

/** The seeded schedule with one sample moved from batch 1 to batch 2 (one swap of ids). */
function scheduleDifferingInOneBatch() {
  const schedule = buildSchedule(data.n, config).map((s) => ({ ...s, batch: s.batch.slice() }));
  const a = schedule[1]!.batch;
  const b = schedule[2]!.batch;
  [a[0], b[0]] = [b[0]!, a[0]!];
  return schedule;
}

describe('store identity', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  it('covers the batches: a store of one run is refused for a run that differs in one batch', async () => {
    const w0 = model.init(4);
    const first = train(model, data, config, { initialWeights: w0 });
    const other = train(model, data, config, {
      initialWeights: w0,
      schedule: scheduleDifferingInOneBatch(),
    });
    expect(other.trajectory.digest).not.toBe(first.trajectory.digest);
    const store = storeFor(model, first.trajectory);
    await recollect({ model, data, trajectory: first.trajectory, store, ids: [0, 1], workers: 1 });
    for (const attempt of [
      () => Unlearner.open(model, other.trajectory, { kind: 'store', store }),
      () => recollect({ model, data, trajectory: other.trajectory, store, ids: [2], workers: 1 }),
    ]) {
      let caught: unknown;
      try {
        await attempt();
      } catch (err) {
        caught = err;
      }
      expect(isLetheError(caught, 'manifest-mismatch')).toBe(true);
      // Names the field that differs and the fix.
      expect((caught as Error).message).toMatch(/trajectoryDigest: store has "[0-9a-f]{32}"/);
      expect((caught as Error).message).toMatch(/Fix: .*recompute the approximators/);
    }
    // Nothing was written into the store by the refused recollect.
    expect(Array.from(await store.liveIds())).toEqual([0, 1]);
    // repair into a new store checks that the store it extends is the run's.
    await expect(
      repair({
        model,
        data,
        trajectory: other.trajectory,
        weights: other.weights,
        store,
        epochs: 1,
        target: (identity) => createMemoryStore(identity),
      }),
    ).rejects.toThrow(/trajectoryDigest/);
    // The store of the run itself still opens.
    await expect(
      Unlearner.open(model, first.trajectory, { kind: 'store', store }),
    ).resolves.toBeDefined();
  });

  it('runDigests names the run as its store does: model, trajectory and data digests', () => {
    const { trajectory } = train(model, data, config);
    const digests = runDigests(trajectory);
    expect(digests.modelDigest).toBe(model.digest);
    expect(digests.trajectoryDigest).toBe(storeIdentity(model, trajectory).trajectoryDigest);
    const y = Int32Array.from(data.y);
    y[0] = (y[0]! + 1) % 3;
    const other = runDigests(train(model, { ...data, y }, config).trajectory);
    expect(other.dataDigest).not.toBe(digests.dataDigest);
    expect(other.trajectoryDigest).not.toBe(digests.trajectoryDigest);
  });

  it('is the config by value: key order and extra properties do not change it', () => {
    const reordered = Object.fromEntries(Object.entries(config).reverse()) as TrainConfig;
    const extra = { ...config, note: 'not a training parameter' } as TrainConfig;
    const base = train(model, data, config).trajectory.digest;
    expect(train(model, data, reordered).trajectory.digest).toBe(base);
    expect(train(model, data, extra).trajectory.digest).toBe(base);
    expect(train(model, data, { ...config, l2: 0.02 }).trajectory.digest).not.toBe(base);
  });

  it("the data must be the run's: same n and same content", async () => {
    const { trajectory } = train(model, data, config);
    const y = Int32Array.from(data.y);
    y[5] = (y[5]! + 1) % 3;
    const relabelled = { ...data, y };
    const message =
      /the data given \(digest [0-9a-f]{32}\) is not the data the run was recorded on/;
    await expect(
      recollect({ model, data: relabelled, trajectory, ids: [0], workers: 1 }),
    ).rejects.toThrow(message);
    expect(() => retrain(model, relabelled, trajectory, [0])).toThrow(message);
    expect(() => secondOrderUpdate(model, relabelled, trajectory, [0])).toThrow(message);
    await expect(
      Unlearner.open(model, trajectory, { kind: 'lazy', data: relabelled }),
    ).rejects.toThrow(message);
    let caught: unknown;
    try {
      retrain(model, blobs(32, 4, 3, 2), trajectory, []);
    } catch (err) {
      caught = err;
    }
    expect(isLetheError(caught, 'mismatch')).toBe(true);
    expect((caught as Error).message).toMatch(/recorded on n = 64 samples but the data has n = 32/);
  });

  it('repair of a run trained without a seed takes its own seed', async () => {
    const { seed: _seed, ...noSeed } = config;
    const run = train(model, data, noSeed, {
      initialWeights: model.init(4),
      schedule: buildSchedule(data.n, config),
    });
    const store = storeFor(model, run.trajectory);
    await recollect({ model, data, trajectory: run.trajectory, store, ids: [0, 1, 2], workers: 1 });
    const options = {
      model,
      data,
      trajectory: run.trajectory,
      weights: run.weights,
      store,
      epochs: 1,
    };
    await expect(repair(options)).rejects.toThrow(/no seed .* pass repair a seed/);
    await expect(repair({ ...options, seed: 1.5 })).rejects.toThrow(/seed = 1.5 is invalid/);
    expect(Array.from(await store.liveIds())).toEqual([0, 1, 2]);
    const repaired = await repair({ ...options, seed: 7 });
    expect(repaired.trajectory.steps.map((s) => Array.from(s.batch).sort())).toEqual([[0, 1, 2]]);
  });

  it('covers the step sizes: the same batches with other etas are another run', () => {
    const schedule = buildSchedule(data.n, config);
    const scaled = schedule.map((s) => ({ ...s, eta: s.eta * 0.5 }));
    const a = train(model, data, config, { schedule });
    const b = train(model, data, config, { schedule: scaled, stepSizes: 'schedule' });
    expect(storeIdentity(model, b.trajectory).trajectoryDigest).not.toBe(
      storeIdentity(model, a.trajectory).trajectoryDigest,
    );
  });

  it('train checks a given schedule and needs no seed when given weights and schedule', async () => {
    const schedule = buildSchedule(data.n, config);
    const w0 = model.init(4);
    const { seed: _seed, ...noSeed } = config;
    // Same inputs as the seeded run: same weights, same identity.
    const seeded = train(model, data, config);
    const given = train(model, data, noSeed, { initialWeights: w0, schedule });
    expect(Buffer.from(given.weights.buffer).equals(Buffer.from(seeded.weights.buffer))).toBe(true);
    expect(given.trajectory.digest).toBe(seeded.trajectory.digest);
    expect(() => train(model, data, config, { schedule: [] })).toThrow(/the schedule is empty/);
    const badEpoch = schedule.map((s, t) => (t === 1 ? { ...s, epoch: 0.5 } : s));
    expect(() => train(model, data, config, { schedule: badEpoch })).toThrow(
      /schedule step 1 has epoch = 0.5/,
    );
    expect(() => train(model, data, noSeed, { schedule })).toThrow(
      /seed is missing, needed for the initial weights/,
    );
    expect(() => train(model, data, noSeed)).toThrow(/seed is missing/);
    const halved = schedule.map((s) => ({ ...s, eta: s.eta / 2 }));
    expect(() => train(model, data, config, { schedule: halved })).toThrow(
      /schedule step 0 has eta = 0.1 but the config gives lr \* lrDecay\^0 = 0.2; .*stepSizes: 'schedule'/,
    );
    const outside = schedule.map((s, t) =>
      t === 3 ? { ...s, batch: Int32Array.from([0, data.n]) } : s,
    );
    expect(() => train(model, data, config, { schedule: outside })).toThrow(
      /schedule step 3 names sample 64, outside 0\.\.63/,
    );
    const nan = Float32Array.from(w0);
    nan[2] = Number.NaN;
    expect(() => train(model, data, config, { initialWeights: nan })).toThrow(
      /initialWeights\[2\] is NaN/,
    );
    await expect(
      Unlearner.open(model, seeded.trajectory, { kind: 'lazy', data }, nan),
    ).rejects.toThrow(/Unlearner.open: weights\[2\] is NaN/);
  });

  it('refineSecondOrder refuses an unlearner opened on other weights (their deletions are unknown)', async () => {
    const run = train(model, data, config);
    const shifted = Float32Array.from(run.weights, (v) => v + 1e-3);
    // Without a ledger, such weights are refused outright: a repeat would be applied twice.
    await expect(
      Unlearner.open(model, run.trajectory, { kind: 'lazy', data }, shifted),
    ).rejects.toThrow(/no ledger: nothing records which samples they already forgot/);
    const ledger = storeFor(model, run.trajectory);
    const u = await Unlearner.open(model, run.trajectory, { kind: 'lazy', data, ledger }, shifted);
    await u.forget(3);
    await expect(u.refineSecondOrder(data)).rejects.toThrow(
      /opened on weights other than the run's final ones/,
    );
    const fresh = await Unlearner.open(model, run.trajectory, { kind: 'lazy', data });
    await fresh.forget(3);
    await expect(fresh.refineSecondOrder(data)).resolves.toMatchObject({ ids: [3] });
  });
});
