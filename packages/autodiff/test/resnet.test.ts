import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Batch,
  batchNorm,
  conv2d,
  createModel,
  dense,
  type Model,
  relu,
  residual,
  resnet,
  resnetLayers,
  sequential,
  subsample2d,
  useBackend,
} from '../src/index.js';
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
import { noKinkCrossed } from './kinks.js';

const L2 = 0.01;
const EPS32 = 2 ** -23;
const H = 1e-3;

/**
 * The same network written directly with tfjs ops, as PyTorch writes it: stride-2 convolutions
 * with padding 1, batch normalisation from its formula. tf.grad of this is the autodiff
 * reference for the hand-written gradient and per-sample gradients (first derivatives only:
 * tfjs's second derivatives are not trusted, see the README).
 */
function referenceLogits(model: Model, flat: tf.Tensor, x: tf.Tensor): tf.Tensor2D {
  const seg = (name: string) => {
    const s = model.layout.segments.find((t) => t.name === name);
    if (!s) throw new Error(`no segment ${name}`);
    return tf.reshape(tf.slice(flat, [s.offset], [s.size]), [...s.shape]);
  };
  const pad1: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ];
  const conv = (h: tf.Tensor, name: string, stride: number, pad: 0 | 1) =>
    tf.conv2d(h as tf.Tensor4D, seg(name) as tf.Tensor4D, stride, pad === 1 ? pad1 : 'valid');
  // Frozen statistics mean 0, variance 1, eps 1e-5.
  const bn = (h: tf.Tensor, name: string) =>
    tf.add(tf.mul(tf.div(h, Math.sqrt(1 + 1e-5)), seg(`${name}.weight`)), seg(`${name}.bias`));
  let h: tf.Tensor = tf.relu(bn(conv(tf.reshape(x, [-1, 28, 28, 1]), 'stem.weight', 2, 1), 'bn'));
  for (const [block, stride] of [
    ['block1', 1],
    ['block2', 2],
    ['block3', 2],
  ] as const) {
    let m = tf.relu(bn(conv(h, `${block}.conv1.weight`, stride, 1), `${block}.bn1`));
    m = bn(conv(m, `${block}.conv2.weight`, 1, 1), `${block}.bn2`);
    const s =
      stride === 1 ? h : bn(conv(h, `${block}.shortcut.conv.weight`, 2, 0), `${block}.shortcut.bn`);
    h = tf.relu(tf.add(m, s));
  }
  const pooled = tf.mean(h, [1, 2]);
  const fc = seg('fc.weight');
  const w = tf.slice(fc, [0, 0], [10, 32]);
  const b = tf.reshape(tf.slice(fc, [0, 32], [10, 1]), [10]);
  return tf.add(tf.matMul(pooled, w, false, true), b) as tf.Tensor2D;
}

const meanCrossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor1D) =>
  tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(labels, 10), tf.logSoftmax(logits)), 1)));

describe.each(testBackends())('ResNet on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });
  const model = resnet();

  it('has the documented d and layout; the registry builds it by name', () => {
    expect(model.d).toBe(19_810);
    const segs = model.layout.segments.map((s) => [s.name, s.shape]);
    expect(segs.slice(0, 4)).toEqual([
      ['stem.weight', [3, 3, 1, 8]],
      ['bn.weight', [8]],
      ['bn.bias', [8]],
      ['block1.conv1.weight', [3, 3, 8, 8]],
    ]);
    expect(segs).toContainEqual(['block2.shortcut.conv.weight', [1, 1, 8, 16]]);
    expect(segs[segs.length - 1]).toEqual(['fc.weight', [10, 33]]);
    expect(createModel('resnet').digest).toBe(model.digest);
    // Batch normalisation starts as the identity up to its eps: scale 1, shift 0.
    const w = model.init(1);
    const bn = model.layout.segments.find((s) => s.name === 'block2.bn1.weight')!;
    expect(Array.from(w.subarray(bn.offset, bn.offset + 32))).toEqual([
      ...new Array(16).fill(1),
      ...new Array(16).fill(0),
    ]);
  });

  it('logits, gradient and per-sample gradients equal tf.grad of the same network written with stride-2 tfjs convolutions', async () => {
    // tf.grad of a convolution needs Conv2DBackpropFilter, which the wasm backend lacks: the
    // reference (and the kernels, for a like-for-like comparison) run on the cpu backend.
    await useBackend('cpu');
    const b = 2;
    const batch = toBatch(model, randomBatch(model, b, 5));
    const params = model.init(2);
    // Scale and shift away from 1 and 0, so that their derivatives are exercised.
    for (const s of model.layout.segments)
      if (/bn\d?\.(weight|bias)$/.test(s.name))
        for (let i = s.offset; i < s.offset + s.size; i++)
          params[i] = 0.3 * Math.sin(i) + (s.name.endsWith('weight') ? 1 : 0);
    const flat = tf.tensor1d(params);
    const point = model.at(params, batch);
    const refLogits = referenceLogits(model, flat, batch.x);
    expect(relErr(point.logits.dataSync(), refLogits.dataSync())).toBeLessThan(1e-5);
    const grad = tf.grad((w: tf.Tensor) =>
      meanCrossEntropy(referenceLogits(model, w, batch.x), batch.labels),
    );
    const g = point.gradient(0);
    const gRef = grad(flat);
    expect(relErr(g.dataSync(), gRef.dataSync())).toBeLessThan(1e-4);
    const per = point.perSampleGradients();
    for (let i = 0; i < b; i++) {
      const xi = tf.slice(batch.x, [i, 0, 0, 0], [1, 28, 28, 1]);
      const li = tf.slice(batch.labels, [i], [1]);
      const gi = tf.grad((w: tf.Tensor) => meanCrossEntropy(referenceLogits(model, w, xi), li))(
        flat,
      );
      const row = tf.slice(per, [i, 0], [1, model.d]);
      expect(relErr(row.dataSync(), gi.dataSync())).toBeLessThan(1e-4);
      tf.dispose([xi, li, gi, row]);
    }
    tf.dispose([flat, refLogits, g, gRef, per, batch.x, batch.labels]);
    point.dispose();
    await useBackend(backend);
  });

  /**
   * A point and unit directions along which no ReLU changes sign within H (see cnn.test.ts), on
   * 12x12 inputs: the same architecture with a fifth of the ReLUs, so that kink-free segments
   * are common (two 28x28 samples pass ~15,000 ReLUs, some of them within H of a kink).
   */
  const fdModel = createModel('resnet', { inputShape: [12, 12, 1] });
  let smooth:
    | { batch: Batch; params: Float32Array; g: Float32Array; v: Float32Array; u: Float32Array }
    | undefined;
  const segment = () => {
    if (smooth) return smooth;
    const layers = resnetLayers({ inputShape: [12, 12, 1] });
    const unit = (a: Float32Array) => {
      const n = Math.hypot(...a);
      return a.map((t) => t / n);
    };
    for (let seed = 0; seed < 20; seed++) {
      const batch = toBatch(fdModel, randomBatch(fdModel, 2, 100 + seed));
      const params = fdModel.init(seed);
      const g = gradientAt(fdModel, params, batch, L2);
      const v = unit(randomVector(fdModel.d, 200 + seed));
      const u = unit(
        randomVector(fdModel.d, 300 + seed).map((t, i) => Math.abs(t) * Math.sign(g[i]!)),
      );
      if (
        noKinkCrossed(layers, params, batch.x, v, H) &&
        noKinkCrossed(layers, params, batch.x, u, H)
      ) {
        smooth = { batch, params, g, v, u };
        return smooth;
      }
      tf.dispose([batch.x, batch.labels]);
    }
    throw new Error('resnet: no kink-free segment found; the test setup needs other seeds.');
  };

  it('gradient matches central differences of the loss (no kink crossed)', () => {
    const { batch, params, g, v, u } = segment();
    const objective = (dir: Float32Array, sign: number): number => {
      const w = params.map((p, i) => p + sign * H * dir[i]!);
      const point = fdModel.at(w, batch, { gradientOnly: true });
      const value = point.loss + (L2 / 2) * w.reduce((a, t) => a + t * t, 0);
      point.dispose();
      return value;
    };
    for (const dir of [v, u]) {
      const lPlus = objective(dir, 1);
      const fd = (lPlus - objective(dir, -1)) / (2 * H);
      const exact = g.reduce((a, gi, i) => a + gi * dir[i]!, 0);
      expect(Math.abs(fd - exact)).toBeLessThan((8 * EPS32 * Math.abs(lPlus)) / H + H * H);
    }
    // Along u the derivative is a sizeable fraction of ||g|| (the gradient is concentrated on
    // the classifier, so less than the CNN's 0.2), which keeps the bound above a sharp test.
    expect(g.reduce((a, gi, i) => a + gi * u[i]!, 0)).toBeGreaterThan(0.1 * Math.hypot(...g));
  });

  it('HMP matches central differences of the gradient (no kink crossed)', () => {
    const { batch, params, v } = segment();
    const hv = hmpRows(fdModel, params, batch, L2, v, 1);
    const fd = fdHvp(fdModel, params, batch, L2, v, H);
    expect(relErr(hv, fd)).toBeLessThan(5e-3);
  });

  it('an HMP of K vectors equals K single products; per-sample gradients sum to the gradient', () => {
    const batch = toBatch(model, randomBatch(model, 3, 7));
    const point = model.at(model.init(3), batch);
    const k = 3;
    const v = tf.tensor2d(randomVector(k * model.d, 8, 0.01), [k, model.d]);
    const product = (t: tf.Tensor2D) => {
      const hv = point.hmp(t, L2);
      const out = Float32Array.from(hv.dataSync());
      hv.dispose();
      return out;
    };
    const block = product(v);
    for (let r = 0; r < k; r++) {
      const row = tf.slice(v, [r, 0], [1, model.d]);
      const single = product(row);
      row.dispose();
      expect(relErr(block.subarray(r * model.d, (r + 1) * model.d), single)).toBeLessThan(1e-5);
    }
    const per = point.perSampleGradients().dataSync();
    const g = point.gradient(0).dataSync();
    const mean = new Float64Array(model.d);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < model.d; j++) mean[j]! += per[i * model.d + j]! / 3;
    expect(relErr(mean, g)).toBeLessThan(1e-5);
    tf.dispose([v, batch.x, batch.labels]);
    point.dispose();
  });

  it('a loop of HMP calls keeps the tensor count flat', () => {
    const batch = toBatch(model, randomBatch(model, 2, 10));
    const params = model.init(5);
    const v = tf.tensor2d(randomVector(2 * model.d, 11), [2, model.d]);
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const point = model.at(params, batch);
        tf.dispose([point.hmp(v, L2), point.gradient(L2), point.perSampleGradients()]);
        point.dispose();
      }
    };
    run(1);
    const tensors = tf.memory().numTensors;
    run(2);
    expect(tf.memory().numTensors).toBe(tensors);
    tf.dispose([v, batch.x, batch.labels]);
  });

  it('batch normalisation with non-trivial frozen statistics: HMP of a block matches central differences', () => {
    // A residual block with an identity shortcut and running statistics away from (0, 1),
    // between a conv and a dense layer, on a 6x6x2 input.
    const c1 = conv2d({
      inChannels: 2,
      outChannels: 3,
      kernel: 3,
      padding: 1,
      inputShape: [6, 6, 2],
    });
    const stats = { mean: [0.2, -0.4, 0.1], variance: [0.5, 2, 1.5] };
    const block = residual(
      [
        {
          name: 'conv1',
          layer: conv2d({
            inChannels: 3,
            outChannels: 3,
            kernel: 3,
            padding: 1,
            inputShape: [6, 6, 3],
            bias: false,
          }),
        },
        { name: 'down', layer: subsample2d([6, 6, 3]) },
        { name: 'bn1', layer: batchNorm({ inputShape: [3, 3, 3], ...stats }) },
      ],
      [
        { name: 'down', layer: subsample2d([6, 6, 3]) },
        { name: 'bn', layer: batchNorm({ inputShape: [3, 3, 3], ...stats }) },
      ],
    );
    const layers = [
      { name: 'c1', layer: c1 },
      { name: 'block', layer: block },
      { name: 'relu', layer: relu([3, 3, 3]) },
      { name: 'fc', layer: dense(27, 10, [3, 3, 3]) },
    ];
    const small = sequential('small', layers);
    const batch = toBatch(small, randomBatch(small, 2, 3));
    const params = small.init(4).map((t, i) => t + 0.2 * Math.cos(i));
    const v = randomVector(small.d, 5);
    const n = Math.hypot(...v);
    const unitV = v.map((t) => t / n);
    expect(noKinkCrossed(layers, params, batch.x, unitV, H)).toBe(true);
    const hv = hmpRows(small, params, batch, L2, unitV, 1);
    const fd = fdHvp(small, params, batch, L2, unitV, H);
    expect(relErr(hv, fd)).toBeLessThan(5e-3);
    tf.dispose([batch.x, batch.labels]);
  });

  it('rejects a shortcut whose shapes differ from the main path', () => {
    const main = [{ name: 'down', layer: subsample2d([6, 6, 3]) }];
    expect(() => residual(main)).toThrow(
      /the shortcut maps \[6,6,3\] to \[6,6,3\] but the main path maps/,
    );
    expect(() => batchNorm({ inputShape: [4, 4, 2], mean: [0] })).toThrow(
      /mean must hold 2 finite numbers/,
    );
  });
});
