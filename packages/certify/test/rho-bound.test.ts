import { Rng } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import { describe, expect, it } from 'vitest';
import { softmaxRegressionRhoBound } from '../src/index.js';

/** Eigenvalues of a symmetric matrix (cyclic Jacobi rotations, float64). */
function symmetricEigenvalues(a: number[][]): number[] {
  const n = a.length;
  const m = a.map((row) => [...row]);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p]![q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p]![q]!;
        if (apq === 0) continue;
        const theta = (m[q]![q]! - m[p]![p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k]![p]!;
          const mkq = m[k]![q]!;
          m[k]![p] = c * mkp - s * mkq;
          m[k]![q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p]![k]!;
          const mqk = m[q]![k]!;
          m[p]![k] = c * mpk - s * mqk;
          m[q]![k] = s * mpk + c * mqk;
        }
      }
    }
  }
  return m.map((row, i) => row[i]!);
}

/**
 * The Hessian of (1/|B|) sum_i CE(W x~_i, y_i) + (lambda/2) ||W||^2 in W [K, D + 1] (row-major,
 * the bias last in each row, as Lethe's logistic model lays it out), x~ = (x, 1). It does not
 * depend on the labels.
 */
function softmaxHessian(w: number[], xs: number[][], classes: number, lambda: number): number[][] {
  const cols = xs[0]!.length + 1;
  const d = classes * cols;
  const h = Array.from({ length: d }, (_, i) =>
    Array.from({ length: d }, (_, j) => (i === j ? lambda : 0)),
  );
  for (const x of xs) {
    const xt = [...x, 1];
    const z = Array.from({ length: classes }, (_, c) =>
      xt.reduce((s, v, j) => s + w[c * cols + j]! * v, 0),
    );
    const top = Math.max(...z);
    const e = z.map((v) => Math.exp(v - top));
    const total = e.reduce((s, v) => s + v, 0);
    const p = e.map((v) => v / total);
    for (let c = 0; c < classes; c++) {
      for (let c2 = 0; c2 < classes; c2++) {
        const a = (c === c2 ? p[c]! : 0) - p[c]! * p[c2]!;
        for (let j = 0; j < cols; j++) {
          for (let j2 = 0; j2 < cols; j2++) {
            h[c * cols + j]![c2 * cols + j2]! += (a * xt[j]! * xt[j2]!) / xs.length;
          }
        }
      }
    }
  }
  return h;
}

const squaredNorms = (xs: number[][]) => xs.map((x) => x.reduce((s, v) => s + v * v, 0));

describe('softmaxRegressionRhoBound', () => {
  it('bounds ||I - eta H|| from above at random weights, data and step sizes', () => {
    const rng = new Rng(11);
    let tightest = 0;
    for (let trial = 0; trial < 60; trial++) {
      const classes = 2 + (trial % 3);
      const inputs = 2 + (trial % 4);
      const xs = Array.from({ length: 1 + (trial % 5) }, () =>
        Array.from({ length: inputs }, () => rng.uniform(-2, 2)),
      );
      const w = Array.from(
        { length: classes * (inputs + 1) },
        () => rng.uniform(-1, 1) * (trial % 3),
      );
      const lambda = trial % 2 === 0 ? 0.5 : 1e-3;
      // Step sizes on both sides of 2 / lambda_max, where the bound's two terms trade places.
      const eta = [0.01, 0.1, 0.5, 2][trial % 4]!;
      const eig = symmetricEigenvalues(softmaxHessian(w, xs, classes, lambda));
      const exact = Math.max(...eig.map((l) => Math.abs(1 - eta * l)));
      const bound = softmaxRegressionRhoBound({
        lambda,
        steps: [{ eta, squaredNorms: squaredNorms(xs) }],
      });
      expect(Math.min(...eig)).toBeGreaterThanOrEqual(lambda - 1e-12);
      expect(Math.max(...eig)).toBeLessThanOrEqual(lambda + bound.curvature + 1e-12);
      expect(exact).toBeLessThanOrEqual(bound.value);
      tightest = Math.max(tightest, exact / bound.value);
    }
    // Not vacuous either: some trials come within a few percent.
    expect(tightest).toBeGreaterThan(0.9);
  });

  it('is attained: two classes at p = (1/2, 1/2) with one sample', () => {
    const x = [0.6, -1.2, 2];
    const lambda = 0.5;
    const eig = symmetricEigenvalues(softmaxHessian(new Array(8).fill(0), [x], 2, lambda));
    const bound = softmaxRegressionRhoBound({
      lambda,
      steps: [{ eta: 1, squaredNorms: squaredNorms([x]) }],
    });
    // lambda_max = lambda + (||x||^2 + 1) / 2, the bias's 1 included.
    expect(Math.max(...eig)).toBeCloseTo(lambda + (0.36 + 1.44 + 4 + 1) / 2, 12);
    expect(bound.curvature).toBeCloseTo((0.36 + 1.44 + 4 + 1) / 2, 8);
    expect(bound.value / (Math.max(...eig) - 1)).toBeLessThan(1 + 1e-8);
  });

  it('takes the worst step, and refuses what it cannot bound', () => {
    const steps = [
      { eta: 0.05, squaredNorms: [1, 3] },
      { eta: 0.5, squaredNorms: [10] },
      { eta: 0.01, squaredNorms: [100] },
    ];
    const r = softmaxRegressionRhoBound({ lambda: 0.5, steps });
    expect(r.step).toBe(1);
    expect(r.value).toBeCloseTo(0.5 * (0.5 + 5.5) - 1, 8);
    expect(thrown(() => softmaxRegressionRhoBound({ lambda: 0.5, steps: [] })).message).toMatch(
      /steps must list every step of the run/,
    );
    expect(
      thrown(() =>
        softmaxRegressionRhoBound({ lambda: 0.5, steps: [{ eta: 0.1, squaredNorms: [1, -1] }] }),
      ).message,
    ).toMatch(/steps\[0\]\.squaredNorms\[1\] = -1 is invalid; expected a finite number >= 0/);
    expect(thrown(() => softmaxRegressionRhoBound({ lambda: -1, steps })).message).toMatch(
      /lambda = -1 is invalid/,
    );
  });
});
