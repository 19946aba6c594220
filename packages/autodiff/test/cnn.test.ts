import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Batch,
  cnn,
  cnnLayers,
  cnnUnfusedLayers,
  createModel,
  lenet,
  lenetLayers,
  lenetUnfusedLayers,
  type Model,
  type NamedLayer,
  sequential,
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

interface Spec {
  name: string;
  model: Model;
  layers: NamedLayer[];
  /** The same network from separate conv2d, maxPool2d (and ReLU in the paper's order). */
  unfused: NamedLayer[];
  d: number;
  segments: [string, number[]][];
  /** d for [32, 32, 3] inputs. */
  dColour: number;
}

const specs: Spec[] = [
  {
    name: 'cnn',
    model: cnn(),
    layers: cnnLayers(),
    unfused: cnnUnfusedLayers(),
    d: 21_840,
    segments: [
      ['features.conv1.weight', [5, 5, 1, 10]],
      ['features.conv1.bias', [10]],
      ['features.conv2.weight', [5, 5, 10, 20]],
      ['features.conv2.bias', [20]],
      ['fc1.weight', [50, 321]],
      ['fc2.weight', [10, 51]],
    ],
    dColour: 31_340,
  },
  {
    name: 'lenet',
    model: lenet(),
    layers: lenetLayers(),
    unfused: lenetUnfusedLayers(),
    d: 61_706,
    segments: [
      ['features.conv1.weight', [5, 5, 1, 6]],
      ['features.conv1.bias', [6]],
      ['features.conv2.weight', [5, 5, 6, 16]],
      ['features.conv2.bias', [16]],
      ['fc1.weight', [120, 401]],
      ['fc2.weight', [84, 121]],
      ['fc3.weight', [10, 85]],
    ],
    dColour: 83_126,
  },
];

const L2 = 0.01;
const EPS32 = 2 ** -23;
/** Step of the central differences: no kink within it is checked, see the search below. */
const H = 1e-3;

/**
 * A point and two unit directions along which the network stays on one linear piece of its
 * ReLU / max-pool pattern over [w - H v, w + H v] (checked on the patterns), so that central
 * differences measure what the R-operator computes. With Gaussian inputs and random weights,
 * about one pre-activation in 10^4 lies within H |dz/dt| of a kink, so a few seeds are tried.
 * `v` is Gaussian; `u` has Gaussian magnitudes with the signs of the gradient, so that <g, u>
 * is a sizeable fraction of ||g|| and the gradient check is sharp. The patterns are read from
 * the separate-layer network (the same function, so the same kinks; its forward pass is
 * cheaper on the cpu backend). Found once per model and backend.
 */
interface Segment {
  batch: Batch;
  params: Float32Array;
  g: Float32Array;
  v: Float32Array;
  u: Float32Array;
}
const segments = new Map<string, Segment>();
function smoothSegment(spec: Spec): Segment {
  const key = `${spec.name} ${tf.getBackend()}`;
  const found = segments.get(key) ?? findSegment(spec);
  segments.set(key, found);
  return found;
}
function findSegment(spec: Spec): Segment {
  const { model, unfused: layers } = spec;
  const unit = (a: Float32Array): Float32Array => {
    const n = Math.hypot(...a);
    return a.map((t) => t / n);
  };
  for (let seed = 0; seed < 20; seed++) {
    const batch = toBatch(model, randomBatch(model, 2, 100 + seed));
    const params = model.init(seed);
    const g = gradientAt(model, params, batch, L2);
    const v = unit(randomVector(model.d, 200 + seed));
    const u = unit(randomVector(model.d, 300 + seed).map((t, i) => Math.abs(t) * Math.sign(g[i]!)));
    if (
      noKinkCrossed(layers, params, batch.x, v, H) &&
      noKinkCrossed(layers, params, batch.x, u, H)
    ) {
      return { batch, params, g, v, u };
    }
    tf.dispose([batch.x, batch.labels]);
  }
  throw new Error(`${spec.name}: no kink-free segment found; the test setup needs other seeds.`);
}

describe.each(testBackends())('CNN models on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  describe.each(specs)('$name', (spec) => {
    const { model } = spec;

    it('has the documented d and layout; the registry builds it for other image shapes', () => {
      expect(model.d).toBe(spec.d);
      expect(model.layout.segments.map((s) => [s.name, s.shape])).toEqual(spec.segments);
      expect(model.inputShape).toEqual([28, 28, 1]);
      expect(createModel(spec.name).d).toBe(spec.d);
      expect(createModel(spec.name).digest).toBe(model.digest);
      const colour = createModel(spec.name, { inputShape: [32, 32, 3], classes: 10 });
      expect(colour.d).toBe(spec.dColour);
      expect(() => createModel(spec.name, { inputShape: [784] })).toThrow(
        /inputShape must be an image shape \[H, W, C\]/,
      );
    });

    it('equals the network built from separate conv2d and maxPool2d layers', () => {
      const reference = sequential(spec.name, spec.unfused);
      // The same tensors at the same offsets (names differ: "features.conv1.weight" / "conv1.weight").
      const shapes = (m: Model) => m.layout.segments.map((s) => [s.shape, s.offset]);
      expect(shapes(reference)).toEqual(shapes(model));
      expect(reference.init(3)).toEqual(model.init(3));
      const batch = toBatch(model, randomBatch(model, 3, 12));
      const params = model.init(6);
      const k = 3;
      const v = tf.tensor2d(randomVector(k * model.d, 13, 0.01), [k, model.d]);
      const outputs = (m: Model) => {
        const point = m.at(params, batch);
        const out = [
          point.logits,
          point.gradient(L2),
          point.perSampleGradients(),
          point.hmp(v, L2),
        ];
        const values = out.map((t) => Float32Array.from(t.dataSync()));
        tf.dispose(out.slice(1));
        point.dispose();
        return values;
      };
      const got = outputs(model);
      const want = outputs(reference);
      // Same products summed in other orders: float32 round-off of sums of a few hundred terms.
      got.forEach((t, i) => {
        expect(relErr(t, want[i]!)).toBeLessThan(1e-5);
      });
      v.dispose();
    });

    it("logits() (the layers' direct inference path) equals the training forward's logits", () => {
      const params = model.init(8);
      for (const shape of [
        [28, 28, 1],
        [27, 25, 2],
      ] as const) {
        // [27, 25, 2]: odd sizes, so the poolings drop an edge row or column.
        const m = shape[0] === 28 ? model : createModel(spec.name, { inputShape: [...shape] });
        const w = shape[0] === 28 ? params : m.init(8);
        const batch = toBatch(m, randomBatch(m, 5, 21));
        const point = m.at(w, batch, { gradientOnly: true });
        const inferred = m.logits(w, batch.x);
        expect(inferred.shape).toEqual(point.logits.shape);
        expect(relErr(inferred.dataSync(), point.logits.dataSync())).toBeLessThan(1e-6);
        inferred.dispose();
        point.dispose();
      }
    });

    it('gradient matches central differences of the loss (no kink crossed)', () => {
      const { batch, params, g, v, u } = smoothSegment(spec);
      const objective = (dir: Float32Array, sign: number): number => {
        const w = params.map((p, i) => p + sign * H * dir[i]!);
        const point = model.at(w, batch);
        const value = point.loss + (L2 / 2) * w.reduce((a, t) => a + t * t, 0);
        point.dispose();
        return value;
      };
      for (const dir of [v, u]) {
        const lPlus = objective(dir, 1);
        const fd = (lPlus - objective(dir, -1)) / (2 * H);
        const exact = g.reduce((a, gi, i) => a + gi * dir[i]!, 0);
        // The float32 loss carries a few ulps of |L| (8 eps32 |L| covers the sum over the
        // batch), divided by 2H; the truncation H^2 |L'''| / 6 is below 1e-6 here.
        const bound = (8 * EPS32 * Math.abs(lPlus)) / H + H * H;
        expect(Math.abs(fd - exact)).toBeLessThan(bound);
      }
      // Along u the derivative is large, so the bound above is a sharp relative test.
      expect(g.reduce((a, gi, i) => a + gi * u[i]!, 0)).toBeGreaterThan(0.2 * Math.hypot(...g));
    });

    it('HMP matches central differences of the gradient (no kink crossed)', () => {
      const { batch, params, v } = smoothSegment(spec);
      const hv = hmpRows(model, params, batch, L2, v, 1);
      const fd = fdHvp(model, params, batch, L2, v, H);
      // Rounding: each float32 gradient carries ~1e-7 ||g|| of error (measured), so the
      // difference quotient carries ~1e-7 ||g|| / H ~ 1e-4 ||g||, i.e. 1e-3 relative to
      // ||Hv|| ~ 0.5; truncation H^2 |T| / 6 is ~1e-6. Bound: 5x the rounding estimate.
      expect(relErr(hv, fd)).toBeLessThan(5e-3);
    });

    it('an HMP of K vectors equals K single products', () => {
      const point = model.at(model.init(3), toBatch(model, randomBatch(model, 3, 7)));
      const k = 4;
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
        // The same products in the same order per row: equal up to float32 round-off.
        expect(relErr(block.subarray(r * model.d, (r + 1) * model.d), single)).toBeLessThan(1e-5);
      }
      v.dispose();
      point.dispose();
    });

    it('per-sample gradients sum to the batch gradient', () => {
      const b = 4;
      const batch = toBatch(model, randomBatch(model, b, 9));
      const point = model.at(model.init(4), batch);
      const per = point.perSampleGradients();
      expect(per.shape).toEqual([b, model.d]);
      const perValues = per.dataSync();
      const g = point.gradient(0).dataSync();
      point.dispose();
      per.dispose();
      const mean = new Float64Array(model.d);
      for (let i = 0; i < b; i++)
        for (let j = 0; j < model.d; j++) mean[j]! += perValues[i * model.d + j]! / b;
      expect(relErr(mean, g)).toBeLessThan(1e-5);
    });

    it('a loop of HMP calls keeps the tensor count flat', () => {
      const batch = toBatch(model, randomBatch(model, 2, 10));
      const params = model.init(5);
      const v = tf.tensor2d(randomVector(3 * model.d, 11), [3, model.d]);
      const run = (n: number) => {
        for (let i = 0; i < n; i++) {
          const point = model.at(params, batch);
          const hv = point.hmp(v, L2);
          const g = point.gradient(L2);
          const per = point.perSampleGradients();
          tf.dispose([hv, g, per]);
          point.dispose();
        }
      };
      run(1);
      const tensors = tf.memory().numTensors;
      const bytes = tf.memory().numBytes;
      run(4);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(tf.memory().numBytes).toBe(bytes);
      v.dispose();
    });
  });
});
