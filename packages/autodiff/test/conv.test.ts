import { Rng } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  conv2d,
  conv2dMaxPool,
  convPair,
  dense,
  type Layer,
  maxPool2d,
  relu,
  sequential,
  useBackend,
} from '../src/index.js';
import {
  biasGrad64,
  type ConvDims,
  conv64,
  filterGrad64,
  inputGrad64,
  maxPool64,
  outDims,
} from './conv-reference64.js';
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

const gauss = (n: number, seed: number, scale = 1): Float32Array => randomVector(n, seed, scale);
const slice = (a: ArrayLike<number>, k: number, size: number): number[] =>
  Array.from({ length: size }, (_, i) => a[k * size + i]!);
// (+ 0 turns the -0 of a masked negative value into 0, for exact comparisons.)
const read = (t: tf.Tensor): Float32Array => Float32Array.from(t.dataSync(), (v) => v + 0);

/** Runs f inside tidy and returns the values of the tensors it returns. */
function values(f: () => (tf.Tensor | null)[]): (Float32Array | null)[] {
  let out: (Float32Array | null)[] = [];
  tf.tidy(() => {
    out = f().map((t) => (t ? read(t) : null));
  });
  return out;
}

// Sums of at most a few hundred float32 products of O(1) terms, against float64: each
// output carries a few ulps (6e-8) of its largest terms, well below 1e-5 relative.
const LAYER_TOL = 1e-5;

describe.each(testBackends())('conv2d layer on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  const cases: ConvDims[] = [
    { b: 3, h: 7, w: 6, ci: 2, co: 3, kh: 3, kw: 2, p: 0 },
    { b: 2, h: 6, w: 5, ci: 3, co: 4, kh: 3, kw: 3, p: 1 },
    { b: 2, h: 5, w: 5, ci: 1, co: 2, kh: 5, kw: 5, p: 2 },
  ];

  describe.each(cases)('%o', (d) => {
    const layer = conv2d({
      inChannels: d.ci,
      outChannels: d.co,
      kernel: d.kh === d.kw ? d.kh : [d.kh, d.kw],
      padding: d.p === 0 ? 'valid' : d.p,
      inputShape: [d.h, d.w, d.ci],
    });
    const { ho, wo } = outDims(d);
    const inSize = d.h * d.w * d.ci;
    const outSize = ho * wo * d.co;
    const wSize = d.kh * d.kw * d.ci * d.co;
    const x = gauss(d.b * inSize, 1);
    const wt = gauss(wSize, 2, 0.3);
    const bias = gauss(d.co, 3);
    const dy = gauss(d.b * outSize, 4);
    const tensors = () => ({
      x: tf.tensor(x, [d.b, d.h, d.w, d.ci]),
      p: [tf.tensor(wt, [d.kh, d.kw, d.ci, d.co]), tf.tensor(bias, [d.co])],
      dy: tf.tensor(dy, [d.b, ho, wo, d.co]),
    });

    it('has the documented shapes and PyTorch initialisation bounds', () => {
      expect(layer.outputShape).toEqual([ho, wo, d.co]);
      expect(layer.params).toEqual([
        { name: 'weight', shape: [d.kh, d.kw, d.ci, d.co] },
        { name: 'bias', shape: [d.co] },
      ]);
      const out = new Float32Array(wSize + d.co);
      layer.init(new Rng(1), out);
      const bound = 1 / Math.sqrt(d.kh * d.kw * d.ci);
      expect(Math.max(...out.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...out.map(Math.abs))).toBeGreaterThan(0.5 * bound);
    });

    it('forward, gradient and per-sample gradients equal the float64 reference', () => {
      const [y, dW, db, dx, perW, perB] = values(() => {
        const t = tensors();
        const { y, cache } = layer.forward(t.x, t.p);
        const { dx, dp } = layer.backward(cache, t.p, t.dy, true);
        const per = layer.perSampleParamGrads(cache, t.p, t.dy);
        return [y, dp[0]!, dp[1]!, dx, per[0]!, per[1]!];
      });
      expect(relErr(y!, conv64(d, x, wt, bias))).toBeLessThan(LAYER_TOL);
      expect(relErr(dW!, filterGrad64(d, x, dy))).toBeLessThan(LAYER_TOL);
      expect(relErr(db!, biasGrad64(d, dy))).toBeLessThan(LAYER_TOL);
      expect(relErr(dx!, inputGrad64(d, dy, wt))).toBeLessThan(LAYER_TOL);
      for (let b = 0; b < d.b; b++) {
        expect(relErr(slice(perW!, b, wSize), filterGrad64(d, x, dy, b))).toBeLessThan(LAYER_TOL);
        expect(relErr(slice(perB!, b, d.co), biasGrad64(d, dy, b))).toBeLessThan(LAYER_TOL);
      }
    });

    it('R-forward and R-backward equal the float64 bilinear reference for K = 3', () => {
      const k = 3;
      const vW = gauss(k * wSize, 5);
      const vb = gauss(k * d.co, 6);
      const xDot = gauss(k * d.b * inSize, 7);
      const dyDot = gauss(k * d.b * outSize, 8);
      for (const withInput of [true, false]) {
        const [yDot, dWDot, dbDot, dxDot] = values(() => {
          const t = tensors();
          const { cache } = layer.forward(t.x, t.p);
          const v = [tf.tensor(vW, [k, d.kh, d.kw, d.ci, d.co]), tf.tensor(vb, [k, d.co])];
          const xd = withInput ? tf.tensor(xDot, [k * d.b, d.h, d.w, d.ci]) : null;
          const yd = layer.rForward(cache, t.p, v, xd, k);
          const dyd = tf.tensor(dyDot, [k * d.b, ho, wo, d.co]);
          const r = layer.rBackward(cache, t.p, v, t.dy, dyd, xd, k, withInput);
          expect(r.dpDot[0]!.shape).toEqual([k, d.kh, d.kw, d.ci, d.co]);
          expect(r.dpDot[1]!.shape).toEqual([k, d.co]);
          return [yd, r.dpDot[0]!, r.dpDot[1]!, r.dxDot];
        });
        if (!withInput) expect(dxDot).toBeNull();
        for (let r = 0; r < k; r++) {
          const vr = slice(vW, r, wSize);
          const xr = slice(xDot, r, d.b * inSize);
          const dyr = slice(dyDot, r, d.b * outSize);
          const yRef = conv64(d, x, vr, slice(vb, r, d.co));
          const dWRef = filterGrad64(d, x, dyr);
          if (withInput) {
            const viaX = conv64(d, xr, wt, null);
            for (let i = 0; i < yRef.length; i++) yRef[i]! += viaX[i]!;
            const viaXd = filterGrad64(d, xr, dy);
            for (let i = 0; i < dWRef.length; i++) dWRef[i]! += viaXd[i]!;
            const dxRef = inputGrad64(d, dyr, wt);
            const viaV = inputGrad64(d, dy, vr);
            for (let i = 0; i < dxRef.length; i++) dxRef[i]! += viaV[i]!;
            expect(relErr(slice(dxDot!, r, d.b * inSize), dxRef)).toBeLessThan(LAYER_TOL);
          }
          expect(relErr(slice(yDot!, r, d.b * outSize), yRef)).toBeLessThan(LAYER_TOL);
          expect(relErr(slice(dWDot!, r, wSize), dWRef)).toBeLessThan(LAYER_TOL);
          expect(relErr(slice(dbDot!, r, d.co), biasGrad64(d, dyr))).toBeLessThan(LAYER_TOL);
        }
      }
    });
  });

  it('rejects bad options with a clear message', () => {
    const base = { inChannels: 2, outChannels: 3, kernel: 3, inputShape: [8, 8, 2] } as const;
    expect(() => conv2d({ ...base, padding: 3 })).toThrow(/padding must be 'valid' or an integer/);
    expect(() => conv2d({ ...base, inputShape: [8, 8, 3] })).toThrow(
      /inputShape must be \[H, W, 2\]/,
    );
    expect(() => conv2d({ ...base, kernel: 9 })).toThrow(/does not fit a 8x8 input/);
    expect(() => conv2d({ ...base, outChannels: 0 })).toThrow(/outChannels must be a positive/);
  });
});

describe.each(testBackends())('maxPool2d layer on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  // Odd sizes (the last row and column are dropped) and values from {0, 1, 2}: many exact ties.
  const shape = { b: 2, h: 5, w: 7, c: 3 };
  const layer = maxPool2d(2, [shape.h, shape.w, shape.c]);
  const inSize = shape.h * shape.w * shape.c;
  const rng = new Rng(11);
  const x = Float32Array.from({ length: shape.b * inSize }, () => rng.nextInt(3));
  const ref = maxPool64(shape, x);
  const outSize = ref.y.length / shape.b;

  it('routes through the first maximum of each window (ties included), nowhere else', () => {
    expect(layer.outputShape).toEqual([2, 3, 3]);
    const k = 2;
    const dy = gauss(ref.y.length, 1);
    const xDot = gauss(k * x.length, 2);
    const dyDot = gauss(k * ref.y.length, 3);
    const [y, dx, yDot, dxDot] = values(() => {
      const xt = tf.tensor(x, [shape.b, shape.h, shape.w, shape.c]);
      const { y, cache } = layer.forward(xt, []);
      const { dx } = layer.backward(cache, [], tf.tensor(dy, y.shape), true);
      const yd = layer.rForward(cache, [], [], tf.tensor(xDot, [k * shape.b, 5, 7, 3]), k);
      const dyd = tf.tensor(dyDot, [k * shape.b, 2, 3, 3]);
      const { dxDot } = layer.rBackward(cache, [], [], tf.tensor(dy, y.shape), dyd, null, k, true);
      return [y, dx, yd, dxDot];
    });
    expect(Array.from(y!)).toEqual(Array.from(ref.y));
    const dxRef = new Float64Array(x.length);
    ref.arg.forEach((src, o) => {
      dxRef[src] = dy[o]!;
    });
    expect(Array.from(dx!)).toEqual(Array.from(dxRef));
    for (let r = 0; r < k; r++) {
      const yDotRef = Array.from(ref.arg, (src) => xDot[r * x.length + src]!);
      expect(slice(yDot!, r, ref.y.length)).toEqual(yDotRef);
      const dxDotRef = new Array<number>(x.length).fill(0);
      ref.arg.forEach((src, o) => {
        dxDotRef[src] = dyDot[r * ref.y.length + o]!;
      });
      expect(slice(dxDot!, r, x.length)).toEqual(dxDotRef);
    }
    expect(outSize).toBe(18);
  });

  it('rejects what it does not implement', () => {
    expect(() => maxPool2d(3, [4, 4, 1])).toThrow(/only 2x2 windows/);
    expect(() => maxPool2d(2, [1, 4, 1])).toThrow(/smaller than one 2x2 window/);
    expect(() => maxPool2d(2, [16])).toThrow(/inputShape must be \[H, W, C\]/);
  });
});

describe.each(testBackends())('conv2dMaxPool layer on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  // Odd convolution outputs (a dropped row and column), padding, and a non-square kernel.
  const cases: ConvDims[] = [
    { b: 3, h: 8, w: 7, ci: 2, co: 3, kh: 3, kw: 2, p: 0 },
    { b: 2, h: 7, w: 6, ci: 3, co: 4, kh: 3, kw: 3, p: 1 },
  ];

  describe.each(cases)('%o', (d) => {
    const options = {
      inChannels: d.ci,
      outChannels: d.co,
      kernel: (d.kh === d.kw ? d.kh : [d.kh, d.kw]) as number | [number, number],
      padding: d.p === 0 ? ('valid' as const) : d.p,
      inputShape: [d.h, d.w, d.ci],
    };
    const fused = conv2dMaxPool(options);
    const conv = conv2d(options);
    const pool = maxPool2d(2, conv.outputShape);
    const { ho, wo } = outDims(d);
    const [h2, w2] = [Math.floor(ho / 2), Math.floor(wo / 2)];
    const inSize = d.h * d.w * d.ci;
    const outSize = h2 * w2 * d.co;
    const wSize = d.kh * d.kw * d.ci * d.co;
    const k = 3;

    it('computes what conv2d then maxPool2d compute: values, gradients, R-passes', () => {
      expect(fused.outputShape).toEqual(pool.outputShape);
      expect(fused.params).toEqual(conv.params);
      const x = gauss(d.b * inSize, 1);
      const wt = gauss(wSize, 2, 0.3);
      const bias = gauss(d.co, 3);
      const dy = gauss(d.b * outSize, 4);
      const vW = gauss(k * wSize, 5);
      const vb = gauss(k * d.co, 6);
      const xDot = gauss(k * d.b * inSize, 7);
      const dyDot = gauss(k * d.b * outSize, 8);
      const run = (pair: boolean) =>
        values(() => {
          const xt = tf.tensor(x, [d.b, d.h, d.w, d.ci]);
          const p = [tf.tensor(wt, [d.kh, d.kw, d.ci, d.co]), tf.tensor(bias, [d.co])];
          const dyt = tf.tensor(dy, [d.b, h2, w2, d.co]);
          const v = [tf.tensor(vW, [k, d.kh, d.kw, d.ci, d.co]), tf.tensor(vb, [k, d.co])];
          const xd = tf.tensor(xDot, [k * d.b, d.h, d.w, d.ci]);
          const dyd = tf.tensor(dyDot, [k * d.b, h2, w2, d.co]);
          if (!pair) {
            const { y, cache } = fused.forward(xt, p);
            const b = fused.backward(cache, p, dyt, true);
            const per = fused.perSampleParamGrads(cache, p, dyt);
            const first = fused.rForward(cache, p, v, null, k);
            const yd = fused.rForward(cache, p, v, xd, k);
            const r0 = fused.rBackward(cache, p, v, dyt, dyd, null, k, false);
            const r = fused.rBackward(cache, p, v, dyt, dyd, xd, k, true);
            return [y, ...b.dp, b.dx, ...per, first, yd, ...r0.dpDot, ...r.dpDot, r.dxDot];
          }
          const c1 = conv.forward(xt, p);
          const c2 = pool.forward(c1.y, []);
          const dz = pool.backward(c2.cache, [], dyt, true).dx!;
          const b = conv.backward(c1.cache, p, dz, true);
          const per = conv.perSampleParamGrads(c1.cache, p, dz);
          const first = pool.rForward(c2.cache, [], [], conv.rForward(c1.cache, p, v, null, k), k);
          const zd = conv.rForward(c1.cache, p, v, xd, k);
          const yd = pool.rForward(c2.cache, [], [], zd, k);
          const dzd = pool.rBackward(c2.cache, [], [], dyt, dyd, zd, k, true).dxDot!;
          const r0 = conv.rBackward(c1.cache, p, v, dz, dzd, null, k, false);
          const r = conv.rBackward(c1.cache, p, v, dz, dzd, xd, k, true);
          return [c2.y, ...b.dp, b.dx, ...per, first, yd, ...r0.dpDot, ...r.dpDot, r.dxDot];
        });
      const got = run(false);
      const want = run(true);
      expect(got.length).toBe(want.length);
      // Both are float32 sums of the same products in different orders.
      got.forEach((t, i) => {
        expect(relErr(t!, want[i]!)).toBeLessThan(LAYER_TOL);
      });
    });
  });
});

describe.each(testBackends())('convPair layer on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  // Padding in both convolutions, non-square kernels, odd maps before each pooling.
  const first = { inChannels: 2, outChannels: 3, kernel: 3, padding: 1, inputShape: [11, 9, 2] };
  const second = { inChannels: 3, outChannels: 4, kernel: [3, 2] as [number, number], padding: 1 };
  const pair = convPair({ first, second });
  const b1 = conv2dMaxPool(first);
  const b2 = conv2dMaxPool({ ...second, inputShape: b1.outputShape });
  const flat = b2.outputShape.reduce((a, b) => a * b, 1);
  const head = () => dense(flat, 5, b2.outputShape) as Layer;
  const model = sequential('pair', [
    { name: 'features', layer: pair as Layer },
    { name: 'fc', layer: head() },
  ]);
  const separate = sequential('pair', [
    { name: 'conv1', layer: b1 as Layer },
    { name: 'relu1', layer: relu(b1.outputShape) as Layer },
    { name: 'conv2', layer: b2 as Layer },
    { name: 'fc', layer: head() },
  ]);

  it('computes what conv2dMaxPool, relu, conv2dMaxPool compute', () => {
    expect(pair.outputShape).toEqual(b2.outputShape);
    expect(model.layout.segments.map((s) => s.shape)).toEqual(
      separate.layout.segments.map((s) => s.shape),
    );
    const batch = toBatch(model, randomBatch(model, 3, 40));
    const params = model.init(41);
    const k = 3;
    const v = tf.tensor2d(randomVector(k * model.d, 42), [k, model.d]);
    const outputs = (m: typeof model) => {
      const point = m.at(params, batch);
      const out = [
        point.logits,
        point.gradient(0.1),
        point.perSampleGradients(),
        point.hmp(v, 0.1),
      ];
      const vals = out.map(read);
      tf.dispose(out.slice(1));
      point.dispose();
      return vals;
    };
    const got = outputs(model);
    const want = outputs(separate);
    got.forEach((t, i) => {
      expect(relErr(t, want[i]!)).toBeLessThan(LAYER_TOL);
    });
    v.dispose();
  });

  it('must be the first layer', () => {
    const after = sequential('late', [
      { name: 'pre', layer: conv2d({ ...first, outChannels: 2, padding: 1 }) as Layer },
      { name: 'features', layer: pair as Layer },
      { name: 'fc', layer: head() },
    ]);
    const batch = toBatch(after, randomBatch(after, 2, 43));
    expect(() => after.at(after.init(44), batch)).toThrow(
      /convPair: must be the model's first layer \(the input gradient is not available\)/,
    );
  });
});

/**
 * Small models around the layers, for finite differences through the whole model machinery:
 * two convolutions (the first with padding; the second sees an input tangent and passes an input
 * gradient), then max pooling between convolutions.
 */
function convModel() {
  const c1 = conv2d({
    inChannels: 2,
    outChannels: 3,
    kernel: 3,
    padding: 1,
    inputShape: [6, 5, 2],
  });
  const c2 = conv2d({ inChannels: 3, outChannels: 4, kernel: [3, 2], inputShape: c1.outputShape });
  const layers = [
    { name: 'conv1', layer: c1 as Layer },
    { name: 'conv2', layer: c2 as Layer },
    { name: 'fc', layer: dense(4 * 4 * 4, 5, c2.outputShape) as Layer },
  ];
  return { layers, model: sequential('conv-fd', layers) };
}

function poolModel() {
  const c1 = conv2d({ inChannels: 1, outChannels: 3, kernel: 3, inputShape: [9, 8, 1] });
  const p1 = maxPool2d(2, c1.outputShape);
  const c2 = conv2d({ inChannels: 3, outChannels: 2, kernel: 2, inputShape: p1.outputShape });
  const layers = [
    { name: 'conv1', layer: c1 as Layer },
    { name: 'pool1', layer: p1 as Layer },
    { name: 'relu1', layer: relu(p1.outputShape) as Layer },
    { name: 'conv2', layer: c2 as Layer },
    { name: 'fc', layer: dense(2 * 2 * 2, 4, c2.outputShape) as Layer },
  ];
  return { layers, model: sequential('pool-fd', layers) };
}

describe.each(testBackends())(
  'finite differences through conv2d and maxPool2d on %s',
  (backend) => {
    beforeAll(async () => {
      await useBackend(backend);
    });

    // Steps and bounds. The convolution model is smooth: h = 1e-2. The pooling model has kinks
    // (ReLU, routing): h = 1e-3, with the pattern checked unchanged over [w - hv, w + hv].
    // Gradient: the float32 loss carries a few ulps of |L| (~2.3; 8 eps32 |L| covers the batch
    // sum), divided by 2h, plus the truncation h^2 |L'''| / 6 < h^2. HMP: the float32 gradients
    // carry ~1e-7 ||g|| (~1.6) of round-off, so the quotient errs by ~1e-7 ||g|| / h relative to
    // ||Hv|| ~ 1, i.e. 2e-5 at h = 1e-2 and 2e-4 at h = 1e-3; bounds 5x that.
    for (const [name, make, h, hmpBound] of [
      ['conv2d', convModel, 1e-2, 1e-4],
      ['maxPool2d', poolModel, 1e-3, 1e-3],
    ] as const) {
      it(`${name}: gradient and HMP match central differences`, () => {
        const { layers, model } = make();
        const data = randomBatch(model, 3, 21);
        const batch = toBatch(model, data);
        const params = model.init(5);
        const l2 = 0.01;
        const g = gradientAt(model, params, batch, l2);
        for (let s = 0; s < 3; s++) {
          const v = randomVector(model.d, 30 + s);
          const vn = Math.hypot(...v);
          v.forEach((t, i) => {
            v[i] = t / vn;
          });
          expect(noKinkCrossed(layers, params, batch.x, v, h)).toBe(true);
          // Directional derivative of the loss: (L(w + hv) - L(w - hv)) / 2h vs <g, v>.
          const loss = (sign: number) => {
            const p = model.at(
              params.map((w, i) => w + sign * h * v[i]!),
              batch,
            );
            const reg = params.reduce((a, w, i) => a + (w + sign * h * v[i]!) ** 2, 0);
            const out = p.loss + (l2 / 2) * reg;
            p.dispose();
            return out;
          };
          const lPlus = loss(1);
          const fd = (lPlus - loss(-1)) / (2 * h);
          const gv = g.reduce((a, gi, i) => a + gi * v[i]!, 0);
          expect(Math.abs(fd - gv)).toBeLessThan((8 * 2 ** -23 * lPlus) / h + h * h);
          const hv = hmpRows(model, params, batch, l2, v, 1);
          expect(relErr(hv, fdHvp(model, params, batch, l2, v, h))).toBeLessThan(hmpBound);
        }
      });
    }
  },
);
