import { useBackend } from '@lethe/autodiff';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  choleskyBlocked,
  choleskyFloat64,
  choleskySolve,
  conjugateGradient,
  factorWithDamping,
  NotPositiveDefiniteError,
} from '../src/index.js';
import { cholesky64, matVec, maxAbsDiff, norm, randomSpd } from './reference64.js';

describe('dense Cholesky', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  it('the float64 Cholesky reproduces A = L L^T', () => {
    const n = 23;
    const a = randomSpd(n, 30, 0.1, 1);
    const l = choleskyFloat64(a, n);
    expect(maxAbsDiff(l, cholesky64(a, n))).toBeLessThan(1e-12);
  });

  it('the blocked factor equals the float64 reference for blocks that do and do not divide n', () => {
    for (const [n, nb] of [
      [37, 8],
      [64, 16],
      [50, 64],
      [130, 32],
    ] as const) {
      const a = randomSpd(n, n + 5, 0.5, n);
      const ref = cholesky64(a, n);
      const { lower } = choleskyBlocked(a, n, { blockSize: nb, bandRows: 40 });
      const scale = Math.max(...ref.map(Math.abs));
      // float32 trailing updates: agreement to float32 accuracy.
      expect(maxAbsDiff(lower, ref) / scale).toBeLessThan(2e-5);
      // strict upper triangle is zero
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) expect(lower[i * n + j]).toBe(0);
    }
  });

  it('reads only the lower triangle and applies the shift', () => {
    const n = 40;
    const a = randomSpd(n, 10, 0, 3); // rank 10: singular
    const garbage = Float64Array.from(a);
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) garbage[i * n + j] = 1e6;
    const shifted = Float64Array.from(a, (v, k) => (k % (n + 1) === 0 ? v + 0.3 : v));
    const { lower } = choleskyBlocked(garbage, n, { blockSize: 16, shift: 0.3 });
    expect(maxAbsDiff(lower, cholesky64(shifted, n))).toBeLessThan(2e-5);
  });

  it('solves A x = b to float32 accuracy', () => {
    const n = 90;
    const a = randomSpd(n, 120, 0.2, 7);
    const b = Float64Array.from({ length: n }, (_, i) => Math.cos(i));
    const x = choleskySolve(choleskyBlocked(a, n, { blockSize: 32 }), b);
    const r = matVec(a, n, x).map((v, i) => v - b[i]!);
    expect(norm(r) / norm(b)).toBeLessThan(1e-4);
  });

  it('an indefinite matrix fails with the pivot, and damping finds a positive mu', () => {
    const n = 30;
    const a = randomSpd(n, 30, 0, 11);
    for (let i = 0; i < n; i++) a[i * n + i]! -= 0.05; // push the smallest eigenvalues below 0
    expect(() => choleskyBlocked(a, n, { blockSize: 8 })).toThrow(NotPositiveDefiniteError);
    expect(() => choleskyBlocked(a, n, { blockSize: 8 })).toThrow(/not positive definite/);
    const damped = factorWithDamping(a, n, { blockSize: 8 });
    expect(damped.mu).toBeGreaterThan(0);
    expect(damped.attempts).toBeGreaterThan(1);
    const shifted = Float64Array.from(a, (v, k) => (k % (n + 1) === 0 ? v + damped.mu : v));
    expect(maxAbsDiff(damped.factor.lower, cholesky64(shifted, n))).toBeLessThan(1e-4);
    const spd = factorWithDamping(randomSpd(n, 40, 0.1, 2), n);
    expect(spd.mu).toBe(0);
    expect(spd.attempts).toBe(1);
  });

  it('rejects malformed input with a clear message', () => {
    expect(() => choleskyBlocked(new Float64Array(10), 3)).toThrow(
      /10 values, expected n \* n = 9/,
    );
    expect(() => choleskyBlocked(new Float64Array(9), 3, { blockSize: 0 })).toThrow(/blockSize/);
    const f = choleskyBlocked(randomSpd(4, 6, 1, 1), 4);
    expect(() => choleskySolve(f, [1, 2])).toThrow(/2 values, expected 4/);
  });

  it('conjugate gradients agree with the Cholesky solution and report iterations', () => {
    const n = 60;
    const a = randomSpd(n, 80, 0.3, 5);
    const b = Float64Array.from({ length: n }, (_, i) => Math.sin(3 * i));
    const cg = conjugateGradient((v) => matVec(a, n, v), b, { tolerance: 1e-10 });
    expect(cg.converged).toBe(true);
    expect(cg.iterations).toBeGreaterThan(1);
    expect(cg.iterations).toBeLessThanOrEqual(n + 5);
    const direct = choleskySolve(choleskyBlocked(a, n, { blockSize: 16 }), b);
    expect(maxAbsDiff(cg.x, direct) / norm(direct)).toBeLessThan(1e-4);
    const capped = conjugateGradient((v) => matVec(a, n, v), b, { maxIterations: 2 });
    expect(capped.converged).toBe(false);
    expect(capped.iterations).toBe(2);
    const indefinite = conjugateGradient((v) => v.map((x) => -x), b);
    expect(indefinite.negativeCurvature).toBe(true);
  });
});
