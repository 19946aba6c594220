// The per-step certified bound on ||I - eta H_t|| for softmax regression, against the exact norm
// from the explicit Hessian (its formula checked against finite differences of the gradient),
// in float64 on small problems.
import { describe, expect, it } from 'vitest';
import { softmaxRegressionRhoBound, softmaxRegressionStepNorms } from '../src/index.js';
import { jacobiEigenvalues, matVec, testRandom } from './reference.js';

const CLASSES = 3;
const INPUTS = 4;
const STRIDE = INPUTS + 1;
const D = CLASSES * STRIDE;

function problem(seed: number, n = 12, scale = 1.5) {
  const rand = testRandom(seed);
  const x = Float64Array.from({ length: n * INPUTS }, () => scale * (2 * rand() - 1));
  const y = Int32Array.from({ length: n }, () => Math.floor(rand() * CLASSES));
  const w = Float64Array.from({ length: D }, () => 2 * rand() - 1);
  return { x, y, w, n };
}

const features = (x: ArrayLike<number>, i: number) => [
  ...Array.from({ length: INPUTS }, (_, k) => x[i * INPUTS + k]!),
  1,
];

function softmax(w: ArrayLike<number>, xt: number[]): number[] {
  const z = Array.from({ length: CLASSES }, (_, c) =>
    xt.reduce((s, v, k) => s + w[c * STRIDE + k]! * v, 0),
  );
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

/** Gradient of (1/|B|) sum CE + (lambda/2) ||w||^2. */
function gradient(
  w: ArrayLike<number>,
  x: ArrayLike<number>,
  y: Int32Array,
  batch: number[],
  lambda: number,
) {
  const g = Float64Array.from(w, (v) => lambda * v);
  for (const i of batch) {
    const xt = features(x, i);
    const p = softmax(w, xt);
    for (let c = 0; c < CLASSES; c++) {
      const r = p[c]! - (c === y[i] ? 1 : 0);
      for (let k = 0; k < STRIDE; k++) g[c * STRIDE + k]! += (r * xt[k]!) / batch.length;
    }
  }
  return g;
}

/** The explicit Hessian lambda I + (1/|B|) sum (diag p - p p^T) (x) x~ x~^T. */
function hessian(w: ArrayLike<number>, x: ArrayLike<number>, batch: number[], lambda: number) {
  const h = Array.from({ length: D }, (_, r) =>
    Array.from({ length: D }, (_, c) => (r === c ? lambda : 0)),
  );
  for (const i of batch) {
    const xt = features(x, i);
    const p = softmax(w, xt);
    for (let a = 0; a < CLASSES; a++) {
      for (let b = 0; b < CLASSES; b++) {
        const s = (a === b ? p[a]! : 0) - p[a]! * p[b]!;
        for (let k = 0; k < STRIDE; k++) {
          for (let l = 0; l < STRIDE; l++) {
            h[a * STRIDE + k]![b * STRIDE + l]! += (s * xt[k]! * xt[l]!) / batch.length;
          }
        }
      }
    }
  }
  return h;
}

const exactRho = (h: number[][], eta: number) =>
  Math.max(...jacobiEigenvalues(h).map((e) => Math.abs(1 - eta * e)));

describe('softmaxRegressionStepNorms', () => {
  const lambda = 0.5;
  const batch = [0, 3, 4, 7, 9, 11];

  it('uses the Hessian of the model: the explicit formula matches finite differences', () => {
    const { x, y, w } = problem(1);
    const h = hessian(w, x, batch, lambda);
    const rand = testRandom(9);
    const v = Float64Array.from({ length: D }, () => rand() - 0.5);
    const step = 1e-5;
    const plus = gradient(
      w.map((wi, i) => wi + step * v[i]!),
      x,
      y,
      batch,
      lambda,
    );
    const minus = gradient(
      w.map((wi, i) => wi - step * v[i]!),
      x,
      y,
      batch,
      lambda,
    );
    const hv = matVec(h, v);
    for (let i = 0; i < D; i++) {
      expect((plus[i]! - minus[i]!) / (2 * step)).toBeCloseTo(hv[i]!, 8);
    }
  });

  it('a contracting step: bound 1 - eta lambda, which the exact norm attains', () => {
    const { x, w } = problem(2);
    const eta = 0.05;
    const bound = softmaxRegressionStepNorms({
      lambda,
      classes: CLASSES,
      inputs: INPUTS,
      x,
      steps: 1,
      step: () => ({ eta, batch, weights: w }),
    });
    const exact = exactRho(hessian(w, x, batch, lambda), eta);
    expect(bound.value).toBeGreaterThanOrEqual(exact);
    // |B| (classes - 1) = 12 < d = 15: the data part is singular, so lambda_min(H) = lambda.
    expect(bound.value).toBeCloseTo(1 - eta * lambda, 10);
    expect(exact).toBeCloseTo(1 - eta * lambda, 10);
  });

  it('an expanding step: a certified upper bound within 1e-5 of the exact norm', () => {
    for (const seed of [3, 4, 5, 6, 7]) {
      const { x, w } = problem(seed, 12, 3);
      const h = hessian(w, x, batch, lambda);
      const top = Math.max(...jacobiEigenvalues(h));
      const eta = 3 / top; // |1 - eta lambda_max| = 2: the step expands
      const bound = softmaxRegressionStepNorms({
        lambda,
        classes: CLASSES,
        inputs: INPUTS,
        x,
        steps: 1,
        step: () => ({ eta, batch, weights: w }),
      });
      const exact = exactRho(h, eta);
      expect(exact).toBeGreaterThan(1.5);
      expect(bound.value).toBeGreaterThanOrEqual(exact);
      expect(bound.value / exact - 1).toBeLessThan(1e-5);
      expect(bound.perStep[0]!.curvature).toBeGreaterThanOrEqual(top - lambda);
    }
  });

  it('over a run: the worst step, never above the weight-free bound', () => {
    const { x, w } = problem(8, 40);
    const rand = testRandom(21);
    const steps = Array.from({ length: 6 }, (_, t) => ({
      eta: 0.4 * 0.9 ** t,
      batch: Array.from({ length: 8 }, () => Math.floor(rand() * 40)),
      weights: w.map((v) => v * (1 + t)),
    }));
    const bound = softmaxRegressionStepNorms({
      lambda,
      classes: CLASSES,
      inputs: INPUTS,
      x,
      steps: steps.length,
      step: (t) => steps[t]!,
    });
    steps.forEach((s, t) => {
      expect(bound.perStep[t]!.rho).toBeGreaterThanOrEqual(
        exactRho(hessian(s.weights, x, s.batch, lambda), s.eta),
      );
    });
    expect(bound.value).toBe(Math.max(...bound.perStep.map((p) => p.rho)));
    const loose = softmaxRegressionRhoBound({
      lambda,
      steps: steps.map((s) => ({
        eta: s.eta,
        squaredNorms: s.batch.map((i) =>
          features(x, i)
            .slice(0, INPUTS)
            .reduce((a, v) => a + v * v, 0),
        ),
      })),
    });
    expect(bound.value).toBeLessThanOrEqual(loose.value);
  });

  it('refuses shapes, rows and step sizes it cannot use, naming them', () => {
    const { x, w } = problem(1);
    const base = { lambda, classes: CLASSES, inputs: INPUTS, x, steps: 1 };
    expect(() =>
      softmaxRegressionStepNorms({
        ...base,
        step: () => ({ eta: 0.1, batch, weights: w.slice(1) }),
      }),
    ).toThrow(/step 0 has 14 weights; .* has 15/);
    expect(() =>
      softmaxRegressionStepNorms({ ...base, step: () => ({ eta: 0.1, batch: [99], weights: w }) }),
    ).toThrow(/row 99, outside the 12 rows/);
    expect(() =>
      softmaxRegressionStepNorms({ ...base, step: () => ({ eta: 0, batch, weights: w }) }),
    ).toThrow(/eta/);
    expect(() =>
      softmaxRegressionStepNorms({
        ...base,
        x: x.slice(1),
        step: () => ({ eta: 0.1, batch, weights: w }),
      }),
    ).toThrow(/not a whole number of rows/);
  });
});
