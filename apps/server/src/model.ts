// The model a service serves: a training run (deterministic, so it is re-run at each start and
// checked against the store's trajectory digest), its data's size and the subject keys that
// name its samples. The approximators are the expensive part; they are computed once into the
// store and reused.
import { type BackendInfo, createModel, type Model, useBackend } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import { type Dataset, loadMnist, makeBlobs, subset } from '@lethe/datasets';
import { PAPER_LOGISTIC, type TrainConfig, type Trajectory, train } from '@lethe/recollect';

export interface ServedModel {
  readonly name: string;
  readonly backend: BackendInfo;
  readonly model: Model;
  readonly config: TrainConfig;
  readonly data: Dataset;
  readonly trajectory: Trajectory;
  /** The run's final weights: what deletions are applied to. */
  readonly original: Float32Array;
  /** Data-subject key of each sample (index = sample id). */
  subjectKey(id: number): string;
}

/** The models `--model` names. */
export const MODEL_NAMES = ['mnist-logistic', 'blobs-logistic'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** Trains the named model (a seeded, bit-for-bit reproducible run on one backend). */
export async function loadServedModel(name: string, backend?: string): Promise<ServedModel> {
  if (!(MODEL_NAMES as readonly string[]).includes(name)) {
    throw new LetheError(
      'invalid-argument',
      `lethe-server: unknown model ${JSON.stringify(name)}; use one of ${MODEL_NAMES.join(', ')}.`,
    );
  }
  const info = await useBackend(backend);
  const { data, config, prefix } =
    name === 'mnist-logistic'
      ? {
          // The bundled digits, 1000 training samples, the paper's logistic setting.
          data: subset(loadMnist().train, 1000, 42),
          config: PAPER_LOGISTIC,
          prefix: 'mnist-train-',
        }
      : {
          // A small problem for tests and demos: 4 Gaussian blobs in 6 dimensions.
          data: makeBlobs({ n: 120, features: 6, classes: 4, seed: 7, clusterStd: 2 }),
          config: { ...PAPER_LOGISTIC, epochs: 3, batchSize: 16 },
          prefix: 'blob-',
        };
  const model = createModel('logistic', {
    inputShape: data.featureShape,
    classes: data.numClasses,
  });
  const { weights, trajectory } = train(model, data, config);
  return {
    name,
    backend: info,
    model,
    config,
    data,
    trajectory,
    original: Float32Array.from(weights),
    subjectKey: (id) => `${prefix}${id}`,
  };
}
