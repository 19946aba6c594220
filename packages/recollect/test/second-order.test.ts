import { createModel, useBackend } from '@lethe/autodiff';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  recollect,
  retrain,
  secondOrderUpdate,
  type TrainConfig,
  train,
  Unlearner,
} from '../src/index.js';
import { DataTensors, replay } from '../src/internals.js';
import { distance, relErr, smallLogisticProblem, storeFor } from './fixtures.js';
import { secondOrder64, train64 } from './reference64.js';

const { inputs, classes, data, data64, config, model, w0 } = smallLogisticProblem();
const removed = [2, 9, 15];

describe('second-order recollection', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  it("float64: w'' equals the second difference of the run in omega, clipped steps included", () => {
    const ws = train64(data64, config, w0);
    const run = (omega: number) =>
      train64(data64, config, w0, new Map(removed.map((u) => [u, 1 - omega]))).at(-1)!;
    const omega = 1e-3;
    const plus = run(omega);
    const minus = run(-omega);
    const mid = ws.at(-1)!;
    const fd1 = plus.map((p, j) => (p - minus[j]!) / (2 * omega));
    const fd2 = plus.map((p, j) => (p - 2 * mid[j]! + minus[j]!) / omega ** 2);
    const [w1, w2] = secondOrder64(data64, config, ws, removed);
    // Truncation O(omega^2) ~ 1e-6 times the third and fourth derivatives, rounding eps64 /
    // omega^2 ~ 2e-10: measured 1.4e-7 (w') and 2.4e-7 (w''), asserted with a 7-12x margin.
    expect(relErr(w1, fd1)).toBeLessThan(1e-6);
    expect(relErr(w2, fd2)).toBeLessThan(3e-6);
    // Without clipping curvature (clipCurvature: false) the recursion drops clipping's second derivative: exact only where nothing clips.
    const [, dropped] = secondOrder64(data64, config, ws, removed, false);
    expect(relErr(dropped, fd2)).toBeGreaterThan(1e-2);
    const unclipped = { ...config, clip: 1e6 };
    const wsU = train64(data64, unclipped, w0);
    const runU = (omega: number) =>
      train64(data64, unclipped, w0, new Map(removed.map((u) => [u, 1 - omega]))).at(-1)!;
    const fdU = runU(omega).map(
      (p, j) => (p - 2 * wsU.at(-1)![j]! + runU(-omega)[j]!) / omega ** 2,
    );
    // measured 5.3e-7; 5e-6 leaves a 10x margin
    expect(relErr(secondOrder64(data64, unclipped, wsU, removed, false)[1], fdU)).toBeLessThan(
      5e-6,
    );
  });

  it('the float32 engine matches the float64 recursion and beats first order against retraining', async () => {
    const { trajectory } = train(model, data, config);
    const ws = train64(data64, config, w0);
    const [w1, w2] = secondOrder64(data64, config, ws, removed);
    const tensors = new DataTensors(model, data);
    const r = secondOrderUpdate(model, tensors, trajectory, removed);
    const dropped = secondOrderUpdate(model, tensors, trajectory, removed, {
      clipCurvature: false,
    });
    tensors.dispose();
    expect(
      relErr(dropped.second, secondOrder64(data64, config, ws, removed, false)[1]),
    ).toBeLessThan(1e-3);
    // w' is accumulated like the first-order vectors (measured ~1e-6); w'' adds a third
    // derivative per step and is of second order in float32 rounding, so it is looser.
    expect(relErr(r.first, w1)).toBeLessThan(1e-5);
    expect(relErr(r.second, w2)).toBeLessThan(1e-3);
    const exact = retrain(model, data, trajectory, removed);
    const wT = trajectory.checkpoints.get(trajectory.steps.length)!;
    const firstOrder = Float32Array.from(wT, (w, i) => w + r.first[i]!);
    expect(distance(r.weights, exact)).toBeLessThan(distance(firstOrder, exact));
    // w'_T is the sum of the set's first-order approximators
    const { vectors } = await recollect({ model, data, trajectory, ids: removed, workers: 1 });
    const sum = Float32Array.from({ length: model.d }, (_, j) =>
      removed.reduce((s, _u, r2) => s + vectors[r2 * model.d + j]!, 0),
    );
    expect(relErr(r.first, sum)).toBeLessThan(1e-5);
  });

  it('the unlearner refines online requests to second order and says so', async () => {
    const { trajectory } = train(model, data, config);
    const store = storeFor(model, trajectory);
    await recollect({ model, data, trajectory, store, workers: 1 });
    const u = await Unlearner.open(model, trajectory, { kind: 'store', store });
    await expect(u.refineSecondOrder(data)).rejects.toThrow(/Nothing was forgotten/);
    await u.forget(2);
    await u.forget(9);
    expect(u.order).toBe(1);
    await expect(u.refineSecondOrder()).rejects.toThrow(/needs the training data/);
    await u.refineSecondOrder(data);
    expect(u.order).toBe(2);
    await u.forget(15);
    expect(u.order).toBe(1);
    await u.refineSecondOrder(data);
    expect(u.order).toBe(2);
    const tensors = new DataTensors(model, data);
    const direct = secondOrderUpdate(model, tensors, trajectory, [2, 9, 15]);
    tensors.dispose();
    expect(relErr(u.weights, direct.weights)).toBeLessThan(1e-6);
  });
});

describe('second-order recollection on an MLP (float32)', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  it("w' and w'' match first and second differences of the run in omega", () => {
    const mlp = createModel('mlp', { inputShape: [inputs], hidden: 6, classes });
    const cfg: TrainConfig = { ...config, clip: 1e6, lr: 0.2 };
    const { trajectory } = train(mlp, data, cfg);
    const tensors = new DataTensors(mlp, data);
    const r = secondOrderUpdate(mlp, tensors, trajectory, removed);
    tensors.dispose();
    const run = (omega: number) =>
      replay(mlp, data, trajectory, { sampleWeights: new Map(removed.map((u) => [u, 1 - omega])) });
    // float32 second differences: rounding ~ eps32 |w| / omega^2 and truncation ~ omega^2 |w''''|;
    // omega = 0.05 balances them at ~1e-3 of |w''| here. ReLU kinks crossed between the three
    // runs would show as a large error; the first difference guards that too.
    const omega = 0.05;
    const plus = run(omega);
    const minus = run(-omega);
    const mid = trajectory.checkpoints.get(trajectory.steps.length)!;
    const fd1 = Float64Array.from(plus, (p, j) => (p - minus[j]!) / (2 * omega));
    const fd2 = Float64Array.from(plus, (p, j) => (p - 2 * mid[j]! + minus[j]!) / omega ** 2);
    expect(relErr(r.first, fd1)).toBeLessThan(1e-3); // measured 4e-5
    expect(relErr(r.second, fd2)).toBeLessThan(2e-2); // measured 4e-3
  });
});
