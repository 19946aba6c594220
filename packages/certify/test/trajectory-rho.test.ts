import { createModel, useBackend } from '@lethe/autodiff';
import { Rng } from '@lethe/core';
import { buildSchedule, retrain, type TrainConfig, train } from '@lethe/recollect';
import { beforeAll, describe, expect, it } from 'vitest';
import { hessian64 } from '../../autodiff/test/reference64.js';
import { softmaxRemovalBound, softmaxRemovalConstants, softmaxRetrain } from '../src/index.js';
import {
  softmaxRunFromTrajectory,
  trajectoryRho,
  trajectorySoftmaxRho,
} from '../src/trajectory.js';
import { jacobiEigenvalues } from './reference.js';

const inputs = 4;
const classes = 3;
const n = 30;
const rng = new Rng(4);
const data = {
  x: Float32Array.from({ length: n * inputs }, () => 2 * rng.normal()),
  y: Int32Array.from({ length: n }, () => rng.nextInt(classes)),
  n,
};
const model = createModel('logistic', { inputShape: [inputs], classes });

/** rho_t from the eigenvalues of the explicit float64 Hessian at step t. */
function exactRho(
  config: TrainConfig,
  weights: Float32Array,
  t: number,
): { rho: number; min: number; max: number } {
  const step = buildSchedule(n, config)[t]!;
  const ids = Array.from(step.batch);
  const x = Float64Array.from(
    ids.flatMap((id) => Array.from(data.x.subarray(id * inputs, (id + 1) * inputs))),
  );
  const h = hessian64(
    { inputs, classes, x, y: Int32Array.from(ids, (id) => data.y[id]!), l2: config.l2 },
    weights,
  );
  const eig = jacobiEigenvalues(h.map((row) => Array.from(row)));
  const min = Math.min(...eig);
  const max = Math.max(...eig);
  return { rho: Math.max(Math.abs(1 - step.eta * min), Math.abs(1 - step.eta * max)), min, max };
}

describe('trajectoryRho', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  // Steps chosen where power iteration converges within the cap (a tiny eigengap near
  // lambdaMin slows it elsewhere; the result then says converged: false).
  for (const [label, lr, expectAbove1, steps] of [
    ['a contracting run', 0.1, false, [0, 2, 5]],
    ['an expanding run (eta lambdaMax > 2)', 3, true, [0]],
  ] as const) {
    it(`matches the eigenvalues of the explicit Hessian on ${label}`, () => {
      const config: TrainConfig = {
        epochs: 2,
        batchSize: 10,
        lr,
        lrDecay: 0.99,
        clip: 1e6,
        l2: 0.05,
        seed: 1,
      };
      const { trajectory } = train(model, data, config);
      const r = trajectoryRho({
        model,
        data,
        trajectory,
        steps,
        power: { iterations: 3000, tolerance: 1e-6 },
      });
      expect(r.converged).toBe(true);
      for (const s of r.perStep) {
        const exact = exactRho(config, trajectory.checkpoints.get(s.step)!, s.step);
        // float32 Hessian products: eigenvalues to ~1e-6 relative of ||H||
        expect(Math.abs(s.lambdaMax - exact.max)).toBeLessThan(1e-4 * exact.max);
        expect(Math.abs(s.lambdaMin - exact.min)).toBeLessThan(1e-4 * exact.max);
        expect(Math.abs(s.rho - exact.rho)).toBeLessThan(1e-4 * exact.rho);
      }
      // Not the authors' constant 1: below 1 when contracting, above when expanding.
      expect(r.value > 1).toBe(expectAbove1);
      expect(Math.abs(r.value - 1)).toBeGreaterThan(1e-4);
      expect(r.value).toBe(Math.max(...r.perStep.map((s) => s.rho)));
    });
  }

  it('rejects steps outside the run', () => {
    const config: TrainConfig = {
      epochs: 1,
      batchSize: 10,
      lr: 0.1,
      lrDecay: 1,
      clip: 1e6,
      l2: 0.05,
      seed: 1,
    };
    const { trajectory } = train(model, data, config);
    expect(() => trajectoryRho({ model, data, trajectory, steps: [7] })).toThrow(
      /step 7 is outside the run's steps 0..2/,
    );
  });
});

describe('trajectorySoftmaxRho', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  // Every step, against the eigenvalues of the model's own float64 Hessian (autodiff's
  // reference): the certified bound is above the exact norm, and tight.
  for (const [label, lr] of [
    ['a contracting run', 0.1],
    ['an expanding run', 3],
  ] as const) {
    it(`bounds ||I - eta H_t|| from above at every step of ${label}`, () => {
      const config: TrainConfig = {
        epochs: 2,
        batchSize: 10,
        lr,
        lrDecay: 0.99,
        clip: 1e6,
        l2: 0.05,
        seed: 1,
      };
      const { trajectory } = train(model, data, config);
      const bound = trajectorySoftmaxRho({ model, data, trajectory });
      expect(bound.perStep).toHaveLength(trajectory.steps.length);
      for (const s of bound.perStep) {
        const exact = exactRho(config, trajectory.checkpoints.get(s.step)!, s.step);
        expect(s.rho).toBeGreaterThanOrEqual(exact.rho);
        // Contracting steps are bounded by 1 - eta lambda, which lambda_min = lambda attains
        // only when the data part is singular (else the gap is eta (lambda_min - lambda));
        // expanding ones by the power estimate raised 1e-6 until proven.
        expect(s.rho - exact.rho).toBeLessThanOrEqual(
          s.eta * (exact.min - config.l2) + 1e-5 * exact.rho,
        );
      }
      expect(bound.value > 1).toBe(lr === 3);
    });
  }

  it('refuses models it has no proof for', () => {
    const mlp = createModel('mlp', { inputShape: [inputs], classes, hidden: 5 });
    const config: TrainConfig = {
      epochs: 1,
      batchSize: 10,
      lr: 0.1,
      lrDecay: 1,
      clip: 1e6,
      l2: 0.05,
      seed: 1,
    };
    const { trajectory } = train(mlp, data, config);
    expect(() => trajectorySoftmaxRho({ model: mlp, data, trajectory })).toThrow(
      /proven for softmax regression \(the 'logistic' model\) only, not 'mlp'/,
    );
  });
});

describe('softmaxRunFromTrajectory', () => {
  beforeAll(async () => {
    await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
  });

  const config: TrainConfig = {
    epochs: 3,
    batchSize: 8,
    lr: 0.3,
    lrDecay: 0.99,
    clip: 2,
    l2: 0.05,
    seed: 2,
  };

  it("reads Lethe's run in the bound's layout: its exact retraining is the engine's, to float32 rounding", () => {
    const { trajectory } = train(model, data, config);
    const run = softmaxRunFromTrajectory({ model, data, trajectory });
    const forget = [3, 11, 20];
    const exact = softmaxRetrain(run, forget);
    const engine = retrain(model, data, trajectory, forget);
    const gap = Math.hypot(...Array.from(exact, (v, i) => v - engine[i]!));
    expect(gap).toBeLessThan(1e-5 * Math.hypot(...engine));
    const bound = softmaxRemovalBound({ run, constants: softmaxRemovalConstants(run), forget });
    expect(bound.certified).toBe(true);
    const second = Math.hypot(...Array.from(exact, (v, i) => v - bound.secondOrder.weights[i]!));
    expect(second).toBeLessThanOrEqual(bound.secondOrder.bound);
  });

  it('refuses models it has no proof for', () => {
    const mlp = createModel('mlp', { inputShape: [inputs], classes, hidden: 5 });
    const { trajectory } = train(mlp, data, { ...config, epochs: 1 });
    expect(() => softmaxRunFromTrajectory({ model: mlp, data, trajectory })).toThrow(
      /proven for softmax regression \(the 'logistic' model\) only, not 'mlp'/,
    );
  });
});
