import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlp, useBackend } from '../src/index.js';
import {
  fdHvp,
  gradientAt,
  hmpRows,
  randomBatch,
  randomVector,
  relErr,
  testBackends,
  toBatch,
} from './helpers.js';

describe.each(testBackends())('MLP on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const model = mlp({ inputs: 9, hidden: 7, classes: 4 });
  const data = randomBatch(model, 12, 8);
  const params = model.init(3);
  const l2 = 0.1;

  it('has the documented layout', () => {
    expect(model.layout.segments.map((s) => [s.name, s.shape, s.offset])).toEqual([
      ['fc1.weight', [7, 10], 0],
      ['fc2.weight', [4, 8], 70],
    ]);
  });

  it('gradient matches central differences of the loss', () => {
    const batch = toBatch(model, data);
    const g = gradientAt(model, params, batch, l2);
    const v = randomVector(model.d, 2);
    const loss = (w: Float32Array) => {
      const point = model.at(w, batch);
      const reg = (l2 / 2) * w.reduce((s, x) => s + x * x, 0);
      const value = point.loss + reg;
      point.dispose();
      return value;
    };
    const slope = (h: number) =>
      (loss(params.map((w, i) => w + h * v[i]!)) - loss(params.map((w, i) => w - h * v[i]!))) /
      (2 * h);
    const exact = g.reduce((s, gi, i) => s + gi * v[i]!, 0);
    // float32 losses (~1) carry ~1e-7 rounding, so the quotient at h = 2e-3 is good to ~1e-4;
    // the step (||h v|| ~ 0.02) crosses no ReLU kink (the two step sizes agree).
    expect(Math.abs(slope(2e-3) - slope(1e-3))).toBeLessThan(5e-4);
    expect(Math.abs(slope(2e-3) - exact)).toBeLessThan(1e-3 * Math.abs(exact) + 3e-4);
  });

  it('HMP matches central differences of the gradient (no ReLU kink crossed)', () => {
    const batch = toBatch(model, data);
    const v = randomVector(model.d, 4);
    const hv = hmpRows(model, params, batch, l2, v, 1);
    // h small enough that no hidden unit changes sign between w - hv and w + hv (checked by the
    // agreement of two step sizes), large enough that float32 rounding (eps32 |g| / h) is ~1e-4.
    const fd = fdHvp(model, params, batch, l2, v, 2e-3);
    const fdHalf = fdHvp(model, params, batch, l2, v, 1e-3);
    expect(relErr(fd, fdHalf)).toBeLessThan(1e-2);
    expect(relErr(hv, fd)).toBeLessThan(5e-3);
  });

  it('an HMP of K vectors equals K single products; memory stays flat', () => {
    const batch = toBatch(model, data);
    const k = 5;
    const v = randomVector(k * model.d, 5);
    const block = hmpRows(model, params, batch, l2, v, k);
    for (let r = 0; r < k; r++) {
      const single = hmpRows(model, params, batch, l2, v.slice(r * model.d, (r + 1) * model.d), 1);
      expect(relErr(block.subarray(r * model.d, (r + 1) * model.d), single)).toBeLessThan(1e-6);
    }
    const vt = tf.tensor2d(v, [k, model.d]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const point = model.at(params, batch);
      point.hmp(vt, l2).dispose();
      point.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
