import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Batch,
  cnnLayers,
  cnnUnfusedLayers,
  conv2d,
  conv2dMaxPool,
  convPair,
  dense,
  type Layer,
  lenetLayers,
  lenetUnfusedLayers,
  type Model,
  maxPool2d,
  type NamedLayer,
  relu,
  sequential,
  useBackend,
} from '../src/index.js';
import { norm, randomBatch, randomVector, relErr, testBackends, toBatch } from './helpers.js';
import { noKinkCrossed } from './kinks.js';

const EPS32 = 2 ** -23;

/** H v at w for one direction v (no regulariser: it adds nothing to T[v, v]). */
function hvAt(model: Model, w: Float32Array, batch: Batch, v: Float32Array): Float32Array {
  const point = model.at(w, batch);
  const vt = tf.tensor2d(v, [1, model.d]);
  const out = point.hmp(vt, 0);
  const data = Float32Array.from(out.dataSync());
  tf.dispose([vt, out]);
  point.dispose();
  return data;
}

/** T[v, v] by central differences of the HMP, (H(w + h v) v - H(w - h v) v) / 2h, and ||H v||. */
function fdThird(
  model: Model,
  params: Float32Array,
  batch: Batch,
  v: Float32Array,
  h: number,
): { fd: Float64Array; hvNorm: number } {
  const plus = hvAt(
    model,
    params.map((w, i) => w + h * v[i]!),
    batch,
    v,
  );
  const minus = hvAt(
    model,
    params.map((w, i) => w - h * v[i]!),
    batch,
    v,
  );
  return {
    fd: Float64Array.from(plus, (p, i) => (p - minus[i]!) / (2 * h)),
    hvNorm: Math.max(norm(plus), norm(minus)),
  };
}

/** T[v, v] for the K rows of v [K * d] by the kernel. */
function third(model: Model, params: Float32Array, batch: Batch, v: Float32Array): Float32Array {
  const k = v.length / model.d;
  const point = model.at(params, batch);
  const vt = tf.tensor2d(v, [k, model.d]);
  const out = point.thirdDerivative(vt);
  const data = Float32Array.from(out.dataSync());
  tf.dispose([vt, out]);
  point.dispose();
  return data;
}

const unit = (a: Float32Array): Float32Array => {
  const n = norm(a);
  return a.map((t) => t / n);
};

interface Case {
  name: string;
  layers: NamedLayer[];
  /** The same function from other layers (the fused blocks' reference), when there is one. */
  reference?: NamedLayer[];
  batch: number;
  /** Step of the central differences. */
  h: number;
}

const named = (entries: [string, Layer][]): NamedLayer[] =>
  entries.map(([name, layer]) => ({ name, layer: layer as Layer }));

/**
 * conv2d twice: the first sees data (padding 1), the second an input tangent and its second
 * derivative (non-square kernel), and passes the input gradient back; no kink anywhere.
 */
function convCase(): Case {
  const c1 = conv2d({
    inChannels: 2,
    outChannels: 3,
    kernel: 3,
    padding: 1,
    inputShape: [6, 5, 2],
  });
  const c2 = conv2d({ inChannels: 3, outChannels: 4, kernel: [3, 2], inputShape: c1.outputShape });
  return {
    name: 'conv2d',
    layers: named([
      ['conv1', c1],
      ['conv2', c2],
      ['fc', dense(4 * 4 * 4, 5, c2.outputShape)],
    ]),
    batch: 3,
    h: 1e-2,
  };
}

/** maxPool2d between two convolutions (odd map: a dropped row), with a ReLU. */
function poolCase(): Case {
  const c1 = conv2d({ inChannels: 1, outChannels: 3, kernel: 3, inputShape: [9, 8, 1] });
  const p1 = maxPool2d(2, c1.outputShape);
  const c2 = conv2d({ inChannels: 3, outChannels: 2, kernel: 2, inputShape: p1.outputShape });
  const p2 = maxPool2d(2, c2.outputShape);
  return {
    name: 'maxPool2d',
    layers: named([
      ['conv1', c1],
      ['pool1', p1],
      ['relu1', relu(p1.outputShape)],
      ['conv2', c2],
      ['pool2', p2],
      [
        'fc',
        dense(
          p2.outputShape.reduce((a, b) => a * b, 1),
          4,
          p2.outputShape,
        ),
      ],
    ]),
    batch: 3,
    h: 2e-3,
  };
}

/**
 * conv2dMaxPool first (data input) and second (input tangent, padding, non-square kernel, odd
 * map), with the separate conv2d / maxPool2d network as the analytic reference.
 */
function convPoolCase(): Case {
  const first = { inChannels: 2, outChannels: 3, kernel: 3, padding: 1, inputShape: [9, 7, 2] };
  const f1 = conv2dMaxPool(first);
  const second = {
    inChannels: 3,
    outChannels: 2,
    kernel: [2, 3] as [number, number],
    padding: 1,
    inputShape: f1.outputShape,
  };
  const f2 = conv2dMaxPool(second);
  const flat = f2.outputShape.reduce((a, b) => a * b, 1);
  const c1 = conv2d(first);
  const p1 = maxPool2d(2, c1.outputShape);
  const c2 = conv2d(second);
  const p2 = maxPool2d(2, c2.outputShape);
  return {
    name: 'conv2dMaxPool',
    layers: named([
      ['block1', f1],
      ['relu1', relu(f1.outputShape)],
      ['block2', f2],
      ['fc', dense(flat, 4, f2.outputShape)],
    ]),
    reference: named([
      ['conv1', c1],
      ['pool1', p1],
      ['relu1', relu(p1.outputShape)],
      ['conv2', c2],
      ['pool2', p2],
      ['fc', dense(flat, 4, p2.outputShape)],
    ]),
    batch: 3,
    h: 2e-3,
  };
}

/** convPair (padding in both convolutions, non-square kernel, odd maps before each pooling). */
function pairCase(): Case {
  const first = { inChannels: 2, outChannels: 3, kernel: 3, padding: 1, inputShape: [11, 9, 2] };
  const second = { inChannels: 3, outChannels: 4, kernel: [3, 2] as [number, number], padding: 1 };
  const pair = convPair({ first, second });
  const b1 = conv2dMaxPool(first);
  const b2 = conv2dMaxPool({ ...second, inputShape: b1.outputShape });
  const flat = b2.outputShape.reduce((a, b) => a * b, 1);
  return {
    name: 'convPair',
    layers: named([
      ['features', pair],
      ['relu2', relu(pair.outputShape)],
      ['fc', dense(flat, 5, pair.outputShape)],
    ]),
    reference: named([
      ['conv1', b1],
      ['relu1', relu(b1.outputShape)],
      ['conv2', b2],
      ['relu2', relu(b2.outputShape)],
      ['fc', dense(flat, 5, b2.outputShape)],
    ]),
    batch: 3,
    h: 2e-3,
  };
}

/**
 * The paper's CNN and LeNet-5, on 20 x 20 x 1 images to keep the test small (the same layers as
 * for 28 x 28: maps 16 -> 8 -> 4 -> 2 and 20 -> 10 -> 6 -> 3, odd), against their separate-layer
 * networks.
 */
const small = { inputShape: [20, 20, 1] };
function cnnCase(): Case {
  return {
    name: 'cnn',
    layers: cnnLayers(small),
    reference: cnnUnfusedLayers(small),
    batch: 2,
    h: 1e-3,
  };
}
function lenetCase(): Case {
  return {
    name: 'lenet',
    layers: lenetLayers(small),
    reference: lenetUnfusedLayers(small),
    batch: 2,
    h: 1e-3,
  };
}

const cases = [convCase, poolCase, convPoolCase, pairCase, cnnCase, lenetCase];

/**
 * A point and a unit direction along which the network stays on one piece of its ReLU / max-pool
 * pattern over [w - h v, w + h v] (checked on the patterns, kinks.ts), so that central
 * differences measure the derivatives the kernel computes. A few seeds are tried.
 */
function smoothSegment(c: Case, model: Model) {
  for (let seed = 0; seed < 20; seed++) {
    const batch = toBatch(model, randomBatch(model, c.batch, 500 + seed));
    const params = model.init(seed);
    const v = unit(randomVector(model.d, 600 + seed));
    if (noKinkCrossed(c.layers, params, batch.x, v, c.h)) return { batch, params, v };
    tf.dispose([batch.x, batch.labels]);
  }
  throw new Error(`${c.name}: no kink-free segment found; the test setup needs other seeds.`);
}

describe.each(testBackends())('third-derivative kernel through conv layers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  describe.each(cases.map((make) => [make().name, make] as const))('%s', (_name, make) => {
    const c = make();
    const model = sequential(c.name, c.layers);

    it('T[v, v] matches central differences of the HMP (no kink crossed)', () => {
      const { batch, params, v } = smoothSegment(c, model);
      const t = third(model, params, batch, v);
      const { fd, hvNorm } = fdThird(model, params, batch, v, c.h);
      // Rounding: the float32 HMPs carry ~1 ulp of ||Hv|| each (a sum of a few hundred products
      // of O(1) terms), so the quotient errs by ~eps32 ||Hv|| / h; 8 ulps with margin, relative
      // to ||T||. Truncation: h^2 |d^4 L [v, v, v, .]| / 6 with O(1) derivatives and h <= 1e-2
      // is below 2e-5 relative; 1e-4 is allowed. The bound must stay small enough to catch a
      // wrong term (a missing factor 2 on a cross term is an O(10%) error).
      const err = relErr(t, fd);
      const bound = (8 * EPS32 * hvNorm) / (c.h * norm(t)) + 1e-4;
      expect(bound).toBeLessThan(1e-2);
      // Measured (wasm / cpu): conv2d 2e-5, the pooling cases 5e-5 .. 8e-5 (bounds 7e-4 ..
      // 8e-4), CNN 5e-4 .. 8e-4 and LeNet 8e-4 .. 1.1e-3 (bounds 4e-3 .. 5e-3: ||T|| is small
      // beside ||Hv|| there).
      expect(err).toBeLessThan(bound);
      tf.dispose([batch.x, batch.labels]);
    });

    it('K rows equal K single calls', () => {
      const batch = toBatch(model, randomBatch(model, 2, 700));
      const params = model.init(7);
      const v = randomVector(2 * model.d, 701, 0.1);
      const both = third(model, params, batch, v);
      for (let r = 0; r < 2; r++) {
        const single = third(model, params, batch, v.slice(r * model.d, (r + 1) * model.d));
        // The same products per row, in the same order: float32 round-off only.
        expect(relErr(both.subarray(r * model.d, (r + 1) * model.d), single)).toBeLessThan(1e-5);
      }
      tf.dispose([batch.x, batch.labels]);
    });

    if (c.reference) {
      const reference = sequential(c.name, c.reference);
      it('equals the kernel of the same network from separate layers', () => {
        const batch = toBatch(model, randomBatch(model, 2, 710));
        const params = model.init(8);
        const v = randomVector(2 * model.d, 711, 0.1);
        // Same function, same derivatives (exact passes on both sides): float32 sums of the same
        // products in other orders.
        const err = relErr(third(model, params, batch, v), third(reference, params, batch, v));
        expect(err).toBeLessThan(1e-5); // measured 3e-8 .. 2.5e-7
        tf.dispose([batch.x, batch.labels]);
      });
    }

    it('a loop of thirdDerivative calls keeps the tensor count flat', () => {
      const batch = toBatch(model, randomBatch(model, 2, 720));
      const params = model.init(9);
      const v = tf.tensor2d(randomVector(2 * model.d, 721, 0.1), [2, model.d]);
      const run = (n: number) => {
        for (let i = 0; i < n; i++) {
          const point = model.at(params, batch);
          tf.dispose(point.thirdDerivative(v));
          point.dispose();
        }
      };
      run(1);
      const tensors = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      run(3);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.memory().numBytes).toBe(bytes);
      tf.dispose([v, batch.x, batch.labels]);
    });
  });
});

describe.each(testBackends())('second-order passes of the conv layers on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  const k = 2;
  const b = 2;
  const first = { inChannels: 2, outChannels: 3, kernel: 3, padding: 1, inputShape: [7, 6, 2] };
  const block = conv2dMaxPool(first);
  const layers: [string, Layer, boolean][] = [
    ['conv2d', conv2d(first) as Layer, true],
    ['maxPool2d', maxPool2d(2, [7, 6, 3]) as Layer, true],
    ['conv2dMaxPool', block as Layer, true],
    [
      'convPair',
      convPair({ first, second: { inChannels: 3, outChannels: 2, kernel: 2 } }) as Layer,
      false,
    ],
  ];

  it.each(layers)('%s: r2Forward and r2Backward leave only their outputs', (_n, layer, inner) => {
    const prod = (shape: readonly number[]) => shape.reduce((a, s) => a * s, 1);
    const tensor = (shape: number[], seed: number) =>
      tf.tensor(randomVector(prod(shape), seed), shape);
    const x = tensor([b, ...layer.inputShape], 1);
    const p = layer.params.map((spec, i) => tensor([...spec.shape], 10 + i));
    const v = layer.params.map((spec, i) => tensor([k, ...spec.shape], 20 + i));
    // (The model runs forward inside tidy; so does this test, keeping y and the cache.)
    const { y, cache } = tf.tidy(
      () => layer.forward(x, p) as unknown as tf.TensorContainer,
    ) as unknown as ReturnType<Layer['forward']>;
    const inShape = [k * b, ...layer.inputShape];
    const outShape = [k * b, ...layer.outputShape];
    const xDot = inner ? tensor(inShape, 30) : null;
    const xDDot = inner ? tensor(inShape, 31) : null;
    const dy = tensor([b, ...layer.outputShape], 32);
    const dyDot = tensor(outShape, 33);
    const dyDDot = tensor(outShape, 34);
    const before = tf.memory().numTensors;
    const yDDot = layer.r2Forward!(cache, p, v, xDot, xDDot, k);
    const back = layer.r2Backward!(cache, p, v, dy, dyDot, dyDDot, xDot, xDDot, k, inner);
    const outputs = [yDDot, ...back.dpDDot, ...(back.dxDDot ? [back.dxDDot] : [])];
    expect(yDDot.shape).toEqual(outShape);
    expect(back.dpDDot.map((t) => t.shape)).toEqual(layer.params.map((spec) => [k, ...spec.shape]));
    if (inner) expect(back.dxDDot?.shape).toEqual(inShape);
    expect(tf.memory().numTensors).toBe(before + outputs.length);
    tf.dispose([...outputs, x, y, ...p, ...v, dy, dyDot, dyDDot, ...layer.cacheTensors(cache)]);
    tf.dispose([xDot, xDDot].filter((t): t is tf.Tensor => t !== null));
  });
});
