import { backendInfo, type Model } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { requireSeed, type TrainConfig, validateConfig } from './config.js';
import { DataTensors, type TrainingData, validateData } from './data.js';
import { buildSchedule, type ScheduledStep, type StepSizes, validateSchedule } from './schedule.js';
import { sgdStep } from './step.js';
import {
  type CheckpointPolicy,
  dataDigest,
  keepsCheckpoint,
  type RecordedStep,
  type Trajectory,
  trajectoryDigest,
} from './trajectory.js';

export interface TrainOptions {
  /** Default: keep the weights of every step (T x d floats; fastest recollection). */
  readonly checkpoints?: CheckpointPolicy;
  /**
   * Start from these weights (length d, finite) instead of model.init(config.seed): to continue
   * a run (repair does) or to replay a run another framework started.
   */
  readonly initialWeights?: Float32Array;
  /**
   * Run these steps (batches of sample ids, with their epoch and step size) instead of the
   * seeded schedule: to continue a run on the remaining samples (repair does) or to replay
   * another framework's batches. Validated: ids in range, batches non-empty, step sizes finite
   * and positive and, unless `stepSizes` is 'schedule', equal to lr * lrDecay^t. With both
   * this and initialWeights, config.seed may be left out. The run's identity (and so its
   * stores') covers every step.
   */
  readonly schedule?: readonly ScheduledStep[];
  /** 'config' (default): a schedule's etas must follow the config; 'schedule': they are its own. */
  readonly stepSizes?: StepSizes;
  /** Called after every step. */
  readonly onStep?: (info: { step: number; total: number; epoch: number; loss: number }) => void;
}

export interface TrainResult {
  readonly weights: Float32Array;
  readonly trajectory: Trajectory;
}

/**
 * Mini-batch SGD exactly as docs/method.md#training states it (seeded permutations, per-step
 * decay, global clipping, L2), recording the trajectory. The run is a function of (seed, data,
 * config): replaying it on the same backend gives the same bits.
 */
export function train(
  model: Model,
  data: TrainingData,
  config: TrainConfig,
  options: TrainOptions = {},
): TrainResult {
  validateData(model, data);
  validateConfig(config, data.n);
  const policy = options.checkpoints ?? { kind: 'every-step' };
  if (policy.kind === 'every' && !(Number.isInteger(policy.interval) && policy.interval >= 1)) {
    throw new LetheError(
      'invalid-argument',
      `Checkpoint interval must be an integer >= 1, got ${policy.interval}: keep every k-th step with a whole k >= 1, or use { kind: 'every-step' }.`,
    );
  }
  const initial = options.initialWeights ?? model.init(requireSeed(config, 'the initial weights'));
  if (initial.length !== model.d) {
    throw new LetheError(
      'shape-mismatch',
      `initialWeights has length ${initial.length}, expected d = ${model.d} for model ${model.name}: pass weights of that model (model.init(seed) makes some).`,
    );
  }
  const bad = initial.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new LetheError(
      'non-finite',
      `initialWeights[${bad}] is ${initial[bad]}; start from finite weights.`,
    );
  }
  if (options.schedule) {
    validateSchedule(options.schedule, data.n, config, options.stepSizes ?? 'config');
  }
  const schedule = options.schedule ?? buildSchedule(data.n, config);
  const tensors = new DataTensors(model, data);
  const checkpoints = new Map<number, Float32Array>();
  const steps: RecordedStep[] = [];
  let w = tf.tensor1d(initial);
  try {
    schedule.forEach((s, t) => {
      if (keepsCheckpoint(policy, t)) checkpoints.set(t, Float32Array.from(w.dataSync()));
      const batch = tensors.gather(s.batch);
      const { next, clip, loss } = sgdStep(model, w, batch, s.eta, config.clip, config.l2);
      tf.dispose([batch.x, batch.labels, w]);
      w = next;
      steps.push({ ...s, clip, loss });
      options.onStep?.({ step: t + 1, total: schedule.length, epoch: s.epoch, loss });
    });
    const weights = Float32Array.from(w.dataSync());
    checkpoints.set(schedule.length, weights);
    const dDigest = dataDigest(data.x, data.y);
    const trajectory: Trajectory = {
      model: { name: model.name, digest: model.digest, d: model.d, spec: model.spec },
      config: { ...config },
      n: data.n,
      dataDigest: dDigest,
      backend: backendInfo().name,
      steps,
      checkpoints,
      policy,
      digest: trajectoryDigest({
        modelDigest: model.digest,
        config,
        dataDigest: dDigest,
        initialWeights: initial,
        schedule,
      }),
    };
    return { weights, trajectory };
  } finally {
    w.dispose();
    tensors.dispose();
  }
}
