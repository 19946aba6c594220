import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { logisticRegression, type Model, mlp, useBackend } from '../src/index.js';
import { randomBatch, randomVector, relErr, testBackends, toBatch } from './helpers.js';

/** T[v, v] by central differences of the HMP: (H(w + h v) v - H(w - h v) v) / 2h. */
function fdThird(
  model: Model,
  params: Float32Array,
  batch: ReturnType<typeof toBatch>,
  v: Float32Array,
  h: number,
): Float64Array {
  const hvAt = (w: Float32Array) => {
    const point = model.at(w, batch);
    const vt = tf.tensor2d(v, [1, model.d]);
    const out = point.hmp(vt, 0);
    const data = Float32Array.from(out.dataSync());
    tf.dispose([vt, out]);
    point.dispose();
    return data;
  };
  const plus = hvAt(params.map((w, i) => w + h * v[i]!));
  const minus = hvAt(params.map((w, i) => w - h * v[i]!));
  return Float64Array.from(plus, (p, i) => (p - minus[i]!) / (2 * h));
}

function third(
  model: Model,
  params: Float32Array,
  batch: ReturnType<typeof toBatch>,
  v: Float32Array,
  k: number,
): Float32Array {
  const point = model.at(params, batch);
  const vt = tf.tensor2d(v, [k, model.d]);
  const out = point.thirdDerivative(vt);
  const data = Float32Array.from(out.dataSync());
  tf.dispose([vt, out]);
  point.dispose();
  return data;
}

describe.each(testBackends())('third-derivative kernel T[v, v] on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('logistic: matches the closed form and central differences of the HMP', () => {
    const model = logisticRegression({ inputs: 9, classes: 4 });
    const data = randomBatch(model, 12, 2);
    const batch = toBatch(model, data);
    const params = model.init(1);
    const v = randomVector(model.d, 3, 0.5);
    const t = third(model, params, batch, v, 1);
    // Closed form: T[v,v] = (1/B) sum_i p''_i x~_i^T with z' = V x~_i and z'' = 0.
    const cols = 10;
    const closed = new Float64Array(model.d);
    for (let i = 0; i < 12; i++) {
      const xa = [...data.x.slice(i * 9, i * 9 + 9), 1];
      const z = Array.from({ length: 4 }, (_, c) =>
        xa.reduce((s, xj, j) => s + params[c * cols + j]! * xj, 0),
      );
      const zd = Array.from({ length: 4 }, (_, c) =>
        xa.reduce((s, xj, j) => s + v[c * cols + j]! * xj, 0),
      );
      const m = Math.max(...z);
      const e = z.map((zc) => Math.exp(zc - m));
      const p = e.map((ec) => ec / e.reduce((a, b) => a + b, 0));
      const s = p.reduce((acc, pc, c) => acc + pc * zd[c]!, 0);
      const p1 = p.map((pc, c) => pc * (zd[c]! - s));
      const s1 = p1.reduce((acc, pc, c) => acc + pc * zd[c]!, 0);
      const p2 = p.map((pc, c) => p1[c]! * (zd[c]! - s) - pc * s1);
      for (let c = 0; c < 4; c++)
        for (let j = 0; j < cols; j++) closed[c * cols + j]! += (p2[c]! * xa[j]!) / 12;
    }
    expect(relErr(t, closed)).toBeLessThan(1e-5); // measured ~1e-7
    // Central differences of the HMP: h^2 truncation and eps32 |Hv| / h rounding; h = 1e-2
    // keeps both near 1e-3 relative for these magnitudes (measured 5e-4).
    expect(relErr(t, fdThird(model, params, batch, v, 1e-2))).toBeLessThan(3e-3);
  });

  it('MLP: matches central differences of the HMP; K rows equal K single calls', () => {
    const model = mlp({ inputs: 7, hidden: 6, classes: 3 });
    const data = randomBatch(model, 10, 4);
    const batch = toBatch(model, data);
    const params = model.init(2);
    const v = randomVector(model.d, 5, 0.3);
    const t = third(model, params, batch, v, 1);
    // A small step keeps ReLU kinks from being crossed (checked: the FD at h and h/2 agree).
    const fd = fdThird(model, params, batch, v, 2e-3);
    const fdHalf = fdThird(model, params, batch, v, 1e-3);
    expect(relErr(fd, fdHalf)).toBeLessThan(2e-2);
    expect(relErr(t, fd)).toBeLessThan(3e-3); // measured 3e-5
    const v2 = randomVector(2 * model.d, 6, 0.3);
    const both = third(model, params, batch, v2, 2);
    for (let r = 0; r < 2; r++) {
      const single = third(model, params, batch, v2.slice(r * model.d, (r + 1) * model.d), 1);
      expect(relErr(both.subarray(r * model.d, (r + 1) * model.d), single)).toBeLessThan(1e-5);
    }
  });
});
