import { describe, expect, it } from 'vitest';
import { maxSpectralNorm, type SymmetricOperator, spectralNorm } from '../src/index.js';
import { jacobiEigenvalues, logisticHessian, matVec, testRandom } from './reference.js';

const fromMatrix = (m: number[][]): SymmetricOperator => ({
  dim: m.length,
  apply: (v) => matVec(m, v),
});

const maxAbs = (values: number[]) => Math.max(...values.map(Math.abs));

function randomSymmetric(n: number, seed: number): number[][] {
  const rand = testRandom(seed);
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = 2 * rand() - 1;
      m[i]![j] = v;
      m[j]![i] = v;
    }
  }
  return m;
}

/** I - eta H for a matrix H. */
const stepOperator = (h: number[][], eta: number) =>
  h.map((row, i) => row.map((x, j) => (i === j ? 1 : 0) - eta * x));

const tight = { iterations: 1_000_000, tolerance: 1e-10 };

describe('jacobiEigenvalues (the test reference itself)', () => {
  it('reproduces the closed-form spectrum of the tridiagonal (-1, 2, -1) matrix', () => {
    const n = 9;
    const m = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (i === j ? 2 : Math.abs(i - j) === 1 ? -1 : 0)),
    );
    const expected = Array.from(
      { length: n },
      (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)),
    );
    jacobiEigenvalues(m).forEach((value, k) => expect(value).toBeCloseTo(expected[k]!, 12));
  });
});

describe('spectralNorm', () => {
  it('finds the closed-form top eigenvalue of the tridiagonal matrix', () => {
    const n = 10;
    const m = Array.from({ length: n }, (_, i) =>
      Array.from({ length: n }, (_, j) => (i === j ? 2 : Math.abs(i - j) === 1 ? -1 : 0)),
    );
    const result = spectralNorm(fromMatrix(m), tight);
    expect(result.converged).toBe(true);
    expect(result.value).toBeCloseTo(2 + 2 * Math.cos(Math.PI / (n + 1)), 8);
  });

  it('returns the largest |eigenvalue| when it is negative, and when +lambda and -lambda tie', () => {
    const negative = [
      [-5, 0, 0],
      [0, 3, 0],
      [0, 0, 1],
    ];
    expect(spectralNorm(fromMatrix(negative), tight).value).toBeCloseTo(5, 10);
    const tied = [
      [4, 0, 0],
      [0, -4, 0],
      [0, 0, 1],
    ];
    const result = spectralNorm(fromMatrix(tied), tight);
    expect(result.value).toBeCloseTo(4, 10);
    expect(result.converged).toBe(true);
  });

  it('matches Jacobi on random symmetric matrices, from below', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const m = randomSymmetric(12, seed);
      const exact = maxAbs(jacobiEigenvalues(m));
      const { value } = spectralNorm(fromMatrix(m), { ...tight, seed });
      expect(value).toBeLessThanOrEqual(exact * (1 + 1e-12));
      expect(Math.abs(value - exact) / exact).toBeLessThan(1e-6);
    }
  });

  it('gives the spectral norm of I - eta H for a logistic-regression Hessian, and it is not 1', () => {
    const h = logisticHessian(200, 8, 0.5, 42);
    const eigenvalues = jacobiEigenvalues(h);
    expect(eigenvalues[0]!).toBeGreaterThan(0.5 - 1e-12); // lambda I makes it >= 0.5
    for (const eta of [0.05, 0.5, 1.9]) {
      const exact = maxAbs(eigenvalues.map((mu) => 1 - eta * mu));
      const result = spectralNorm(fromMatrix(stepOperator(h, eta)), tight);
      expect(result.converged).toBe(true);
      expect(Math.abs(result.value - exact) / exact).toBeLessThan(1e-6);
      // The authors' code returns 1 here; a contraction is strictly below it.
      expect(result.value).toBeLessThan(1 - 0.5 * eta * 0.5);
    }
  });

  it('does not report convergence early when the eigenvalues of I - eta H crowd near 1', () => {
    const h = logisticHessian(150, 5, 0.5, 11);
    const exact = maxAbs(jacobiEigenvalues(stepOperator(h, 0.05)));
    const op = fromMatrix(stepOperator(h, 0.05));
    // A test on successive estimates stops here after 2 steps, 9e-4 below the truth.
    const short = spectralNorm(op);
    if (short.converged) expect(Math.abs(short.value - exact) / exact).toBeLessThan(1e-5);
    else expect(short.iterations).toBe(100);
    const long = spectralNorm(op, { iterations: 1_000_000 });
    expect(long.converged).toBe(true);
    expect(long.iterations).toBeGreaterThan(100);
    expect(Math.abs(long.value - exact) / exact).toBeLessThan(1e-6);
    expect(long.value).toBeLessThanOrEqual(exact * (1 + 1e-15));
  });

  it('detects expansion (rho > 1) when the step size is too large for the curvature', () => {
    const h = logisticHessian(200, 8, 0.5, 42);
    const eigenvalues = jacobiEigenvalues(h);
    const eta = 2.5 / eigenvalues[eigenvalues.length - 1]!;
    const exact = maxAbs(eigenvalues.map((mu) => 1 - eta * mu));
    const { value } = spectralNorm(fromMatrix(stepOperator(h, eta)), tight);
    expect(exact).toBeGreaterThan(1.4);
    expect(value).toBeCloseTo(exact, 6);
  });

  it('accepts operators that compute in float32', () => {
    const h = logisticHessian(100, 6, 0.5, 7);
    const m = stepOperator(h, 0.5);
    const op: SymmetricOperator = { dim: 6, apply: (v) => Float32Array.from(matVec(m, v)) };
    const exact = maxAbs(jacobiEigenvalues(m));
    expect(
      Math.abs(spectralNorm(op, { tolerance: 1e-9, iterations: 10_000 }).value - exact),
    ).toBeLessThan(1e-5);
  });

  it('is reproducible for a seed, reports non-convergence, and handles the zero operator', () => {
    const m = randomSymmetric(10, 9);
    const a = spectralNorm(fromMatrix(m), { seed: 3, iterations: 7 });
    const b = spectralNorm(fromMatrix(m), { seed: 3, iterations: 7 });
    expect(a).toEqual(b);
    expect(a.converged).toBe(false);
    expect(a.iterations).toBe(7);
    const zero = spectralNorm({ dim: 4, apply: () => new Float64Array(4) });
    expect(zero).toEqual({ value: 0, iterations: 1, converged: true });
  });

  it('rejects broken operators and options', () => {
    expect(() => spectralNorm({ dim: 3, apply: () => new Float64Array(2) })).toThrow(
      /returned 2 entries; expected dim = 3/,
    );
    expect(() => spectralNorm({ dim: 2, apply: () => Float64Array.of(Number.NaN, 0) })).toThrow(
      /non-finite/,
    );
    expect(() => spectralNorm({ dim: 0, apply: (v) => v })).toThrow(/dim = 0/);
    expect(() => spectralNorm({ dim: 2, apply: (v) => v }, { tolerance: 0 })).toThrow(
      /tolerance = 0/,
    );
  });
});

describe('maxSpectralNorm', () => {
  it('takes the largest norm over sampled steps and says which', () => {
    const h = logisticHessian(150, 5, 0.5, 11);
    const exact = jacobiEigenvalues(h);
    const etas = [0.05 * 0.995 ** 0, 0.05 * 0.995 ** 200, 0.05 * 0.995 ** 400];
    // With H fixed and eta decaying, rho = 1 - eta_t lambda_min is largest at the smallest eta.
    // Small steps crowd the eigenvalues of I - eta H near 1: convergence takes many steps.
    const result = maxSpectralNorm(
      etas.map((eta) => fromMatrix(stepOperator(h, eta))),
      tight,
    );
    expect(result.index).toBe(2);
    expect(result.converged).toBe(true);
    expect(result.results).toHaveLength(3);
    expect(result.results.map((r) => r.iterations)).toEqual(
      [...result.results.map((r) => r.iterations)].sort((a, b) => a - b),
    );
    expect(Math.abs(result.value - (1 - etas[2]! * exact[0]!))).toBeLessThan(1e-8);
  });

  it('rejects an empty list', () => {
    expect(() => maxSpectralNorm([])).toThrow(/ops is empty/);
  });
});
