import { useBackend } from '@lethe/autodiff';
import { retrain, type TrainConfig, train, Unlearner } from '@lethe/recollect';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  fineTune,
  hessianFree,
  hessianSum,
  infinitesimalJackknife,
  negativeGradient,
  newtonStep,
  sumGradients,
  type UnlearningContext,
  type UnlearningMethod,
} from '../src/index.js';
import { blobs, logistic, meanLoss } from './fixtures.js';
import { distance, logisticHessian64, maxAbsDiff, norm } from './reference64.js';

// A tiny, strongly convex, well-conditioned problem trained to convergence: full-batch gradient
// descent (|B| = n, so the retrained run minimises (1/n) sum_{i not in U} l_i + lambda/2 |w|^2).
const inputs = 4;
const classes = 3;
const data = blobs(80, inputs, classes, 21);
const model = logistic(inputs, classes);
const config: TrainConfig = {
  epochs: 400,
  batchSize: data.n,
  lr: 0.5,
  lrDecay: 1,
  clip: Number.POSITIVE_INFINITY,
  l2: 0.1,
  seed: 4,
};
const forget = [3, 17, 40, 41, 66];
const remain = Array.from({ length: data.n }, (_, i) => i).filter((i) => !forget.includes(i));

let ctx: UnlearningContext;
let w: Float32Array;
let retrained: Float32Array;

describe('baselines on a tiny logistic problem', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
    const run = train(model, data, config, { checkpoints: { kind: 'none' } });
    w = run.weights;
    ctx = { model, data, trajectory: run.trajectory };
    retrained = retrain(model, data, run.trajectory, forget);
  });

  it('training converged: the full gradient is ~0, so retraining is the remaining optimum', () => {
    const g = sumGradients(model, data, w, remain.concat(forget));
    const full = g.map((v, j) => v / data.n + config.l2 * w[j]!);
    expect(norm(full)).toBeLessThan(1e-4);
    expect(distance(w, retrained)).toBeGreaterThan(1e-2);
  });

  it('the explicit Hessian equals the closed form and the Hessian-matrix products', () => {
    const ids = [0, 5, 9, 33, 79];
    const h = hessianSum(model, data, w, ids, { blockRows: 4, chunk: 2 });
    const d = model.d;
    const ref = logisticHessian64(w, data.x, ids, inputs, classes);
    expect(maxAbsDiff(h, ref) / Math.max(...ref.map(Math.abs))).toBeLessThan(1e-5);
    // Columns against products with random directions.
    const v = tf.randomNormal([3, d], 0, 1, 'float32', 7) as tf.Tensor2D;
    const values = v.dataSync();
    const size = inputs;
    const x = new Float32Array(ids.length * size);
    ids.forEach((id, i) => x.set(data.x.subarray(id * size, (id + 1) * size), i * size));
    const point = model.at(w, {
      x: tf.tensor2d(x, [ids.length, size]),
      labels: tf.tensor1d(
        Int32Array.from(ids, (id) => data.y[id]!),
        'int32',
      ),
      denominator: 1,
    });
    const hv = point.hmp(v, 0);
    const got = hv.dataSync();
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += h[i * d + j]! * values[k * d + j]!;
        expect(Math.abs(s - got[k * d + i]!)).toBeLessThan(1e-4 * (1 + Math.abs(s)));
      }
    }
    tf.dispose([v, hv]);
    point.dispose();
  });

  it('Newton step lands near the retrained optimum; jackknife moves toward it', async () => {
    const shift = distance(w, retrained);
    const newton = newtonStep();
    const prep = await newton.prepare(ctx);
    expect(prep.bytes).toBe(model.d * model.d * 4);
    const nw = (await newton.unlearn(forget)).weights;
    // Direction: the update points from w toward the retrained weights.
    const dot = nw.reduce((a, v, j) => a + (v - w[j]!) * (retrained[j]! - w[j]!), 0);
    expect(dot).toBeGreaterThan(0);
    expect(distance(nw, retrained)).toBeLessThan(0.1 * shift);
    const ij = infinitesimalJackknife();
    await ij.prepare(ctx);
    const jw = (await ij.unlearn(forget)).weights;
    expect(distance(jw, retrained)).toBeLessThan(0.5 * shift);
    // Newton uses the remaining data's Hessian: closer than the jackknife here.
    expect(distance(nw, retrained)).toBeLessThan(distance(jw, retrained));
  });

  it("Newton steps of the counterfactuals' own objectives land nearer still", async () => {
    const shift = distance(w, retrained);
    const stated = newtonStep({ solver: 'cg', cg: { tolerance: 1e-8 } });
    const batch = newtonStep({ counterfactual: 'batch' });
    const remaining = newtonStep({
      solver: 'cg',
      counterfactual: 'remaining',
      cg: { tolerance: 1e-8 },
    });
    expect(batch.name).toBe('newton@batch');
    expect(remaining.name).toBe('newton-cg@remaining');
    for (const m of [stated, batch, remaining]) await m.prepare(ctx);
    const ws = (await stated.unlearn(forget)).weights;
    const wb = (await batch.unlearn(forget)).weights;
    const wr = (await remaining.unlearn(forget)).weights;
    expect(distance(wb, retrained)).toBeLessThan(distance(ws, retrained));
    expect(distance(wb, retrained)).toBeLessThan(0.05 * shift);
    // |B| = n: the 'remaining' counterfactual minimises (1/(n-m)) sum_rem l + lambda/2 |w|^2.
    const retrainedRemaining = retrain(model, data, ctx.trajectory, forget, {
      normaliser: 'remaining',
    });
    expect(distance(wr, retrainedRemaining)).toBeLessThan(0.05 * distance(w, retrainedRemaining));
    expect(distance(ws, retrainedRemaining)).toBeGreaterThan(distance(wr, retrainedRemaining));
    expect(() => infinitesimalJackknife({ counterfactual: 'batch' })).toThrow(/Newton step only/);
  });

  it('conjugate gradients give the Cholesky solution, and record their iterations', async () => {
    for (const [exact, cg] of [
      [newtonStep(), newtonStep({ solver: 'cg', cg: { tolerance: 1e-7 } })],
      [infinitesimalJackknife(), infinitesimalJackknife({ solver: 'cg', cg: { tolerance: 1e-7 } })],
    ] as const) {
      await exact.prepare(ctx);
      const prep = await cg.prepare(ctx);
      expect(prep.bytes).toBe(0);
      const a = await exact.unlearn(forget);
      const b = await cg.unlearn(forget);
      expect(b.record.detail.converged).toBe(true);
      expect(b.record.detail.iterations).toBeGreaterThan(1);
      expect(distance(a.weights, b.weights) / distance(a.weights, w)).toBeLessThan(1e-3);
    }
  });

  it('CG over worker threads gives the single-thread solution', async () => {
    for (const make of [newtonStep, infinitesimalJackknife]) {
      const one = make({ solver: 'cg', cg: { tolerance: 1e-7 } });
      const two = make({ solver: 'cg', cg: { tolerance: 1e-7 }, workers: 2 });
      await one.prepare(ctx);
      await two.prepare(ctx);
      const a = await one.unlearn(forget);
      const b = await two.unlearn(forget);
      expect(b.record.detail.workers).toBe(2);
      expect(a.record.detail.workers).toBe(1);
      // The shares' products are summed in another order: float32 rounding only.
      expect(distance(a.weights, b.weights) / distance(a.weights, w)).toBeLessThan(1e-4);
      // The jackknife keeps its workers between requests; a second request reuses them.
      const c = await two.unlearn([7]);
      expect(c.record.detail.linearisationSeconds === undefined).toBe(
        make === infinitesimalJackknife,
      );
      await one.dispose();
      await two.dispose();
    }
    expect(() => newtonStep({ solver: 'cg', workers: 0 })).toThrow(/workers = 0 must be/);
  });

  it('requests accumulate: two Newton requests equal one for their union', async () => {
    const newton = newtonStep();
    await newton.prepare(ctx);
    await newton.unlearn(forget.slice(0, 2));
    const two = await newton.unlearn(forget.slice(2));
    expect(two.record.removed).toBe(forget.length);
    await newton.reset();
    const one = await newton.unlearn(forget);
    expect(distance(one.weights, two.weights)).toBeLessThan(1e-5);
  });

  it('fine-tuning on the remaining data moves toward retraining and lowers their objective', async () => {
    const ft = fineTune({ epochs: 3 });
    await ft.prepare(ctx);
    const fw = (await ft.unlearn(forget)).weights;
    expect(distance(fw, retrained)).toBeLessThan(distance(w, retrained));
    // The retrained run's objective: (1/n) sum_{i not in U} l_i + lambda/2 |w|^2.
    const objective = (v: Float32Array) =>
      (meanLoss(model, data, v, remain) * remain.length) / data.n + (config.l2 / 2) * norm(v) ** 2;
    expect(objective(fw)).toBeLessThan(objective(w));
  });

  it('negative gradient raises the loss of the forgotten samples', async () => {
    const ng = negativeGradient({ steps: 3, lr: 0.1 });
    await ng.prepare(ctx);
    const r = await ng.unlearn(forget);
    expect(meanLoss(model, data, r.weights, forget)).toBeGreaterThan(
      meanLoss(model, data, w, forget) + 1e-3,
    );
    expect(r.record.detail).toMatchObject({ steps: 3, lr: 0.1 });
  });

  it('the Hessian-free wrapper equals the Unlearner, and reset restores erased rows', async () => {
    const hf = hessianFree({ workers: 1, keepForReset: true });
    const prep = await hf.prepare(ctx);
    expect(prep.bytes).toBe(data.n * model.d * 4);
    const a = await hf.unlearn(forget);
    const direct = await Unlearner.open(model, ctx.trajectory, { kind: 'lazy', data, workers: 1 });
    await direct.forgetBatch(forget);
    expect(maxAbsDiff(a.weights, direct.weights)).toBeLessThan(1e-6);
    await hf.reset();
    const b = await hf.unlearn(forget);
    expect(maxAbsDiff(a.weights, b.weights)).toBe(0);
    await hf.dispose();
    const noSnapshot = hessianFree({ workers: 1 });
    await noSnapshot.prepare(ctx);
    await noSnapshot.unlearn([1]);
    await expect(noSnapshot.reset()).rejects.toThrow(/keepForReset/);
    await noSnapshot.dispose();
  });

  it('order 2 applies the second-order refinement and lands nearer the retrained model', async () => {
    const first = hessianFree({ workers: 1 });
    const second = hessianFree({ workers: 1, order: 2 });
    expect(second.name).toBe('hessian-free-2');
    await first.prepare(ctx);
    await second.prepare(ctx);
    const a = await first.unlearn(forget);
    const b = await second.unlearn(forget);
    expect(b.record.detail.order).toBe(2);
    const direct = await Unlearner.open(model, ctx.trajectory, { kind: 'lazy', data, workers: 1 });
    await direct.forgetBatch(forget);
    await direct.refineSecondOrder();
    expect(maxAbsDiff(b.weights, direct.weights)).toBeLessThan(1e-6);
    expect(distance(b.weights, retrained)).toBeLessThan(0.5 * distance(a.weights, retrained));
    await first.dispose();
    await second.dispose();
    expect(() => hessianFree({ order: 3 as 2 })).toThrow(/order 3 is not supported/);
  });

  it('a precompute of chosen rows gives the same weights, and refuses other samples', async () => {
    const chosen = [...forget, 50];
    const part = hessianFree({ workers: 1, keepForReset: true, precomputeIds: chosen });
    const prep = await part.prepare(ctx);
    expect(prep.detail.precomputedRows).toBe(chosen.length);
    expect(prep.detail.fullPrecomputeSecondsEstimate).toBeGreaterThan(0);
    const a = await part.unlearn(forget);
    const direct = await Unlearner.open(model, ctx.trajectory, { kind: 'lazy', data, workers: 1 });
    await direct.forgetBatch(forget);
    expect(maxAbsDiff(a.weights, direct.weights)).toBeLessThan(1e-6);
    await expect(part.unlearn([7])).rejects.toThrow(/sample 7 is not among the precomputed rows/);
    await part.reset();
    const b = await part.unlearn([...forget, 50]);
    expect(b.record.removed).toBe(6);
    await part.dispose();
    expect(() => hessianFree({ source: 'lazy', precomputeIds: [1] })).toThrow(
      /needs source 'store'/,
    );
  });

  it('bad requests fail clearly and change nothing', async () => {
    const methods: UnlearningMethod[] = [
      newtonStep({ solver: 'cg' }),
      infinitesimalJackknife({ solver: 'cg' }),
      fineTune(),
      negativeGradient(),
      hessianFree({ source: 'lazy', workers: 1 }),
    ];
    for (const m of methods) {
      await expect(m.unlearn([1])).rejects.toThrow(/call prepare/);
      await m.prepare(ctx);
      await expect(m.unlearn([])).rejects.toThrow(/no sample ids given; pass at least one/);
      await expect(m.unlearn([data.n])).rejects.toThrow(/unknown sample id 80.*0\.\.79/);
      await expect(m.unlearn([1.5])).rejects.toThrow(/unknown sample id 1\.5/);
      await expect(m.unlearn([2, 2])).rejects.toThrow(/listed twice/);
      const first = await m.unlearn([2]);
      expect(first.record.request).toBe(0);
      await expect(m.unlearn([2])).rejects.toThrow(/already forgotten/);
      const second = await m.unlearn([5]);
      expect(second.record.request).toBe(1);
      expect(second.record.removed).toBe(2);
      await m.dispose();
    }
    expect(() => newtonStep({ solver: 'lu' as 'cg' })).toThrow(/Unknown solver "lu"/);
    const other = { ...ctx, data: blobs(10, inputs, classes, 1) };
    await expect(newtonStep().prepare(other)).rejects.toThrow(/n = 80 .* n = 10/);
    // Same n, other content: the run was not recorded on it.
    const shuffled = { ...ctx, data: { ...data, y: data.y.map((c) => (c + 1) % classes) } };
    await expect(fineTune().prepare(shuffled)).rejects.toThrow(
      /fine-tune: the data given .* is not the data the run was recorded on/,
    );
    const nan = Float32Array.from(w);
    nan[3] = Number.NaN;
    await expect(negativeGradient().prepare({ ...ctx, weights: nan })).rejects.toThrow(
      /negative-gradient: weights\[3\] is NaN/,
    );
    expect(() => sumGradients(model, data, w, [data.n])).toThrow(
      /sumGradients: unknown sample id 80/,
    );
    expect(() => hessianSum(model, data, w, [1, 1])).toThrow(
      /hessianSum: sample id 1 is listed twice/,
    );
  });
});
