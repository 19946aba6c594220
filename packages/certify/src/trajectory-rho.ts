import type { Model } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import type { TrainingData, Trajectory } from '@lethe/recollect';
import { DataTensors, WeightsCursor } from '@lethe/recollect/internals';
import * as tf from '@tensorflow/tfjs-core';
import { type SpectralNormOptions, type SymmetricOperator, spectralNorm } from './spectral-norm.js';

export interface TrajectoryRhoOptions {
  readonly model: Model;
  readonly data: TrainingData;
  readonly trajectory: Trajectory;
  /** Steps to examine: a count spread evenly over the run (default 10), or explicit steps. */
  readonly steps?: number | readonly number[];
  /** Power iteration settings for each extreme eigenvalue (default 300 iterations, 1e-6). */
  readonly power?: SpectralNormOptions;
  readonly onStep?: (done: number, total: number) => void;
}

export interface StepRho {
  readonly step: number;
  readonly eta: number;
  /** Extreme eigenvalues of H_t (batch objective, with lambda I). */
  readonly lambdaMin: number;
  readonly lambdaMax: number;
  /** ||I - eta_t H_t|| = max(|1 - eta lambdaMin|, |1 - eta lambdaMax|). */
  readonly rho: number;
  readonly converged: boolean;
}

export interface TrajectoryRhoResult {
  /** The largest rho_t over the steps examined: the rho of the sensitivity bound. */
  readonly value: number;
  readonly perStep: readonly StepRho[];
  /** Whether every power iteration converged (otherwise the value may be low). */
  readonly converged: boolean;
}

/**
 * Measures rho, the spectral norm of I - eta_t H_t over a recorded run, with Hessian-vector
 * products only. Each step's extremes come from power iteration on the shifted operators
 * m I + H and m I - H (m = ||H||), which are positive semi-definite, so their dominant
 * eigenvalues are m + lambdaMax and m - lambdaMin: this converges far faster than iterating on
 * I - eta H itself, whose eigenvalues all crowd near 1. Estimates are lower bounds
 * (docs/method.md#rho says why, and why rho = 1 is only an assumption).
 */
export function trajectoryRho(options: TrajectoryRhoOptions): TrajectoryRhoResult {
  const { model, data, trajectory } = options;
  const total = trajectory.steps.length;
  const steps = Array.isArray(options.steps)
    ? [...(options.steps as readonly number[])]
    : evenlySpaced(total, (options.steps as number | undefined) ?? 10);
  for (const t of steps) {
    if (!(Number.isInteger(t) && t >= 0 && t < total)) {
      throw new LetheError(
        'invalid-argument',
        `trajectoryRho: step ${t} is outside the run's steps 0..${total - 1}; pass whole step numbers in that range, or a count of evenly spaced steps.`,
      );
    }
  }
  const power = { iterations: 300, tolerance: 1e-6, ...options.power };
  const tensors = new DataTensors(model, data);
  const cursor = new WeightsCursor(model, tensors, trajectory);
  const perStep: StepRho[] = [];
  try {
    [...steps]
      .sort((a, b) => a - b)
      .forEach((t, i) => {
        const step = trajectory.steps[t]!;
        const batch = tensors.gather(step.batch);
        const point = model.at(cursor.at(t), batch);
        const hv = (v: Float64Array | Float32Array, shift: number, sign: number): Float64Array => {
          const vt = tf.tensor2d(Float32Array.from(v), [1, model.d]);
          const product = point.hmp(vt, trajectory.config.l2);
          const out = product.dataSync();
          tf.dispose([vt, product]);
          return Float64Array.from(out, (h, j) => shift * v[j]! + sign * h);
        };
        const op = (shift: number, sign: number): SymmetricOperator => ({
          dim: model.d,
          apply: (v) => hv(v, shift, sign),
        });
        const norm = spectralNorm(op(0, 1), { ...power, seed: (power.seed ?? 0) + 3 * i });
        const m = norm.value;
        const upper = spectralNorm(op(m, 1), { ...power, seed: (power.seed ?? 0) + 3 * i + 1 });
        const lower = spectralNorm(op(m, -1), { ...power, seed: (power.seed ?? 0) + 3 * i + 2 });
        const lambdaMax = upper.value - m;
        const lambdaMin = m - lower.value;
        perStep.push({
          step: t,
          eta: step.eta,
          lambdaMin,
          lambdaMax,
          rho: Math.max(Math.abs(1 - step.eta * lambdaMin), Math.abs(1 - step.eta * lambdaMax)),
          converged: norm.converged && upper.converged && lower.converged,
        });
        point.dispose();
        tf.dispose([batch.x, batch.labels]);
        options.onStep?.(i + 1, steps.length);
      });
  } finally {
    cursor.dispose();
    tensors.dispose();
  }
  return {
    value: Math.max(...perStep.map((s) => s.rho)),
    perStep,
    converged: perStep.every((s) => s.converged),
  };
}

function evenlySpaced(total: number, count: number): number[] {
  if (!(Number.isInteger(count) && count >= 1))
    throw new LetheError(
      'invalid-argument',
      `trajectoryRho: steps must be an integer >= 1, got ${count}; pass a count of steps (default 10) or a list of step numbers.`,
    );
  const k = Math.min(count, total);
  return Array.from({ length: k }, (_, i) => Math.floor((i * (total - 1)) / Math.max(1, k - 1)));
}
