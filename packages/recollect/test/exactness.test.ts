import { useBackend } from '@lethe/autodiff';
import { beforeAll, describe, expect, it } from 'vitest';
import { recollect, train } from '../src/index.js';
import { relErr, smallLogisticProblem } from './fixtures.js';
import { approximator64, clippedSteps, train64 } from './reference64.js';

const { data, data64, config, model, w0 } = smallLogisticProblem();

describe('first-order exactness', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  it('the fixture clips some steps and not others', () => {
    const ws = train64(data64, config, w0);
    const clipped = clippedSteps(data64, config, ws);
    expect(clipped).toBeGreaterThan(0);
    expect(clipped).toBeLessThan(ws.length - 1);
  });

  it('float64: a_u equals (w(omega) - w(-omega)) / (2 omega) as omega -> 0 (rel. error < 3e-9)', () => {
    const ws = train64(data64, config, w0);
    for (const u of [0, 7, 22]) {
      const a = approximator64(data64, config, ws, u);
      const omega = 1e-5;
      // w(omega): u's loss counts (1 - omega) times in every batch it is in.
      const plus = train64(data64, config, w0, new Map([[u, 1 - omega]])).at(-1)!;
      const minus = train64(data64, config, w0, new Map([[u, 1 + omega]])).at(-1)!;
      const fd = plus.map((v, j) => (v - minus[j]!) / (2 * omega));
      // Truncation O(omega^2) ~ 1e-10 plus rounding eps64 / omega ~ 2e-11; measured 1.9e-10 to
      // 3.2e-10 for these three samples, so 3e-9 leaves a 10x margin (and fails on any error in
      // a term of the recursion, which shows at 1e-3 or more).
      expect(relErr(a, fd)).toBeLessThan(3e-9);
    }
  });

  it('the float32 engine matches the float64 recursion', async () => {
    const { trajectory } = train(model, data, config);
    const ws = train64(data64, config, w0);
    // The two runs agree to float32 rounding accumulated over T = 15 steps.
    expect(relErr(trajectory.checkpoints.get(15)!, ws[15]!)).toBeLessThan(1e-5);
    const ids = [0, 7, 22];
    const { vectors } = await recollect({ model, data, trajectory, ids, workers: 1 });
    ids.forEach((u, r) => {
      const a64 = approximator64(data64, config, ws, u);
      // float32 rounding (6e-8 relative per operation) grows with T and with the conditioning
      // of the products I - eta J_t; we measure ~7e-7 here, so 1e-5 leaves a 15x margin.
      expect(relErr(vectors.subarray(r * model.d, (r + 1) * model.d), a64)).toBeLessThan(1e-5);
    });
  });
});
