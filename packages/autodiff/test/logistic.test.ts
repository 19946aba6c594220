import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { logisticRegression, useBackend } from '../src/index.js';
import {
  fdHvp,
  hmpRows,
  norm,
  randomBatch,
  randomVector,
  relErr,
  testBackends,
  toBatch,
} from './helpers.js';
import { gradient64, hessian64, hvp64, type Problem64 } from './reference64.js';

/** A full collection, even when Node was started without --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe.each(testBackends())('logistic regression on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const inputs = 12;
  const classes = 4;
  const model = logisticRegression({ inputs, classes });
  const l2 = 0.5;
  const data = randomBatch(model, 16, 1);
  const params = model.init(7).map((w, i) => w + 0.3 * Math.sin(i));
  const problem: Problem64 = { inputs, classes, x: Float64Array.from(data.x), y: data.y, l2 };

  it('has the documented layout', () => {
    expect(model.d).toBe(classes * (inputs + 1));
    expect(model.layout.segments.map((s) => [s.name, s.shape])).toEqual([
      ['fc.weight', [classes, inputs + 1]],
    ]);
  });

  it('computes the gradient of the float64 reference', () => {
    const batch = toBatch(model, data);
    const point = model.at(params, batch);
    const g = point.gradient(l2).dataSync();
    point.dispose();
    // float32 arithmetic over sums of at most 16 * 13 terms: a few ulps of 1e-7 relative each.
    expect(relErr(g, gradient64(problem, params))).toBeLessThan(1e-5);
  });

  it('HMP equals the closed-form Hessian and the float64 R-operator (rel. error <= 1e-5)', () => {
    const k = 5;
    const v = randomVector(k * model.d, 3);
    const hv = hmpRows(model, params, toBatch(model, data), l2, v, k);
    const h = hessian64(problem, params);
    for (let r = 0; r < k; r++) {
      const vr = v.subarray(r * model.d, (r + 1) * model.d);
      const closed = h.map((row) => row.reduce((s, hij, j) => s + hij * vr[j]!, 0));
      const rop = hvp64(problem, params, vr);
      const got = hv.subarray(r * model.d, (r + 1) * model.d);
      expect(relErr(rop, closed)).toBeLessThan(1e-12); // the two references agree
      expect(relErr(got, rop)).toBeLessThan(1e-5);
    }
  });

  it('HMP matches central differences of the gradient', () => {
    const v = randomVector(model.d, 4);
    const batch = toBatch(model, data);
    const hv = hmpRows(model, params, batch, l2, v, 1);
    // Central differences err by h^2 |T| / 6 (truncation) + eps32 |g| / h (rounding). With
    // ||g|| ~ 1, ||Hv|| ~ 1 and h = 1e-2 both terms are below 1e-3 relative.
    const fd = fdHvp(model, params, batch, l2, v, 1e-2);
    expect(relErr(hv, fd)).toBeLessThan(2e-3);
  });

  it('an HMP of K vectors equals K single products', () => {
    const k = 7;
    const v = randomVector(k * model.d, 5);
    const batch = toBatch(model, data);
    const block = hmpRows(model, params, batch, l2, v, k);
    for (let r = 0; r < k; r++) {
      const single = hmpRows(model, params, batch, l2, v.slice(r * model.d, (r + 1) * model.d), 1);
      expect(relErr(block.subarray(r * model.d, (r + 1) * model.d), single)).toBeLessThan(1e-6);
    }
  });

  it('per-sample gradients sum to the batch gradient', () => {
    const batch = toBatch(model, data);
    const point = model.at(params, batch);
    const per = point.perSampleGradients().dataSync();
    const g = point.gradient(0).dataSync();
    point.dispose();
    const mean = new Float64Array(model.d);
    for (let i = 0; i < 16; i++)
      for (let j = 0; j < model.d; j++) mean[j]! += per[i * model.d + j]! / 16;
    expect(relErr(mean, g)).toBeLessThan(1e-5);
    // and each one is the reference gradient of that sample alone
    const one: Problem64 = {
      ...problem,
      x: problem.x.slice(0, inputs),
      y: problem.y.slice(0, 1),
      l2: 0,
    };
    expect(relErr(per.slice(0, model.d), gradient64(one, params))).toBeLessThan(1e-5);
  });

  it('weights and denominator change the objective as documented', () => {
    const base = toBatch(model, data);
    const weights = new Float32Array(16).fill(1);
    weights[3] = 0;
    const point = model.at(params, { ...base, weights: tf.tensor1d(weights), denominator: 16 });
    const g = point.gradient(0).dataSync();
    point.dispose();
    const per = model.at(params, base);
    const all = per.perSampleGradients().dataSync();
    per.dispose();
    const expected = new Float64Array(model.d);
    for (let i = 0; i < 16; i++)
      if (i !== 3) for (let j = 0; j < model.d; j++) expected[j]! += all[i * model.d + j]! / 16;
    expect(relErr(g, expected)).toBeLessThan(1e-5);
    expect(norm(g)).toBeGreaterThan(0);
  });

  it('rejects wrong shapes with a clear message', () => {
    const batch = toBatch(model, data);
    expect(() => model.at(new Float32Array(3), batch)).toThrow(/length 3, expected 52/);
    const point = model.at(params, batch);
    expect(() => point.hmp(tf.zeros([2, 9]) as tf.Tensor2D, 0)).toThrow(
      /9 columns, expected d = 52/,
    );
    point.dispose();
  });

  it('a long loop of HMP calls keeps the tensor count and heap flat', () => {
    const batch = toBatch(model, data);
    const v = tf.tensor2d(randomVector(8 * model.d, 6), [8, model.d]);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const point = model.at(params, batch);
        const hv = point.hmp(v, l2);
        const g = point.gradient(l2);
        tf.dispose([hv, g]);
        point.dispose();
      }
    };
    run(50);
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    // Collect before each reading: without it the heap holds whatever garbage the collector
    // has not reached yet, which varies by Node version and load and made this check flaky.
    collectGarbage();
    const heap = process.memoryUsage().heapUsed;
    run(1500);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
    collectGarbage();
    // Measured here after a collection: 0.1-0.7 MB (compiled code, caches). 1500 calls that
    // each kept one 8 x 52 block of float64s would add 5 MB.
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(3 * 1024 * 1024);
  });
});
