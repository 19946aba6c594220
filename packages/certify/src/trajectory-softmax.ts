import type { Model } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import type { TrainingData, Trajectory } from '@lethe/recollect';
import { DataTensors, WeightsCursor } from '@lethe/recollect/internals';
import { type SoftmaxStepNormBound, softmaxRegressionStepNorms } from './softmax-step-norm.js';

export interface TrajectorySoftmaxRhoOptions {
  readonly model: Model;
  readonly data: TrainingData;
  readonly trajectory: Trajectory;
  readonly onStep?: (done: number, total: number) => void;
}

/**
 * The certified upper bound on rho over every step of a recorded softmax-regression run
 * (softmaxRegressionStepNorms at each step's recorded weights). Other models are refused: the
 * bound's Hessian is softmax regression's.
 */
export function trajectorySoftmaxRho(options: TrajectorySoftmaxRhoOptions): SoftmaxStepNormBound {
  const { model, data, trajectory } = options;
  if (model.name !== 'logistic') {
    throw new LetheError(
      'invalid-argument',
      `trajectorySoftmaxRho: the certified bound is proven for softmax regression (the 'logistic' model) only, not '${model.name}'; use trajectoryRho's estimate (a lower bound) and certify with rho assumed.`,
    );
  }
  const inputs = model.d / model.numClasses - 1;
  const tensors = new DataTensors(model, data);
  const cursor = new WeightsCursor(model, tensors, trajectory);
  try {
    return softmaxRegressionStepNorms({
      lambda: trajectory.config.l2,
      classes: model.numClasses,
      inputs,
      x: data.x,
      steps: trajectory.steps.length,
      step: (t) => ({
        eta: trajectory.steps[t]!.eta,
        batch: trajectory.steps[t]!.batch,
        weights: cursor.at(t).dataSync(),
      }),
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
    });
  } finally {
    cursor.dispose();
    tensors.dispose();
  }
}
