import {
  analyticGaussianEpsilon,
  analyticGaussianSigma,
  paperSensitivity,
  paperStepCounts,
} from '@lethe/certify';
import { trajectoryRho } from '@lethe/certify/trajectory';
import { takeSamples } from '@lethe/datasets';
import type { TrainResult } from '@lethe/recollect';
import { progressLine } from '../../progress.js';
import type { MiaSetting } from './setting.js';

export interface NoiseLevel {
  readonly sigma: number;
  readonly epsilon: number;
  /** Whether the level was asked as an epsilon, a sigma, or is the noise-free one. */
  readonly from: 'none' | 'epsilon' | 'sigma';
}

/**
 * The noise levels: sigma 0, sigma from each (epsilon, delta) by the analytic Gaussian
 * mechanism under the paper's sensitivity bound for m deletions (rho = 1, or measured on the
 * target's run), and each raw sigma with the epsilon it certifies; sorted by sigma.
 */
export function noiseLevels(s: MiaSetting, target: TrainResult) {
  const { flags, config } = s;
  let rho: ReturnType<typeof trajectoryRho> | null = null;
  if (flags.rhoSteps > 0) {
    const progress = progressLine('rho (power iteration)');
    rho = trajectoryRho({
      model: s.model,
      data: takeSamples(s.pool, s.targetIds),
      trajectory: target.trajectory,
      steps: flags.rhoSteps,
      onStep: (i, total) => progress(i / total),
    });
  }
  const { T, B } = paperStepCounts({ n: s.n, epochs: config.epochs, batchSize: config.batchSize });
  const sensitivityModel = {
    eta: config.lr,
    q: config.lrDecay,
    C: config.clip,
    rho: rho?.value ?? 1,
    T,
    B,
    batchSize: config.batchSize,
    m: flags.forget,
  };
  const sensitivity = paperSensitivity(sensitivityModel);
  const levels: NoiseLevel[] = [
    { sigma: 0, epsilon: Number.POSITIVE_INFINITY, from: 'none' as const },
    ...flags.epsilons.map((epsilon) => ({
      sigma: analyticGaussianSigma({ epsilon, delta: flags.delta, sensitivity }),
      epsilon,
      from: 'epsilon' as const,
    })),
    ...flags.sigmas
      .filter((sigma) => sigma > 0)
      .map((sigma) => ({
        sigma,
        epsilon: analyticGaussianEpsilon({ sigma, delta: flags.delta, sensitivity }),
        from: 'sigma' as const,
      })),
  ].sort((a, b) => a.sigma - b.sigma);
  return {
    sensitivity: {
      model: rho
        ? 'paper bound, measured rho (power iteration: a lower bound, not certified)'
        : "paper bound, rho = 1 (the authors' assumption)",
      ...sensitivityModel,
      value: sensitivity,
      rhoMeasurement: rho,
    },
    levels,
  };
}
