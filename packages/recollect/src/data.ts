import { type Model, tf } from '@lethe/autodiff';

/** Training samples: x holds n samples of the model's input size back to back. */
export interface TrainingData {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
}

/** Checks that the data fits the model; names the problem and the fix. */
export function validateData(model: Model, data: TrainingData): void {
  const inputSize = model.inputShape.reduce((a, b) => a * b, 1);
  if (data.y.length !== data.n)
    throw new Error(`Training data: ${data.y.length} labels for n = ${data.n} samples.`);
  if (data.x.length !== data.n * inputSize) {
    throw new Error(
      `Training data: x has ${data.x.length} values, expected n * ${inputSize} = ${data.n * inputSize} for model ${model.name} (input shape [${model.inputShape}]).`,
    );
  }
  for (let i = 0; i < data.x.length; i++) {
    if (!Number.isFinite(data.x[i]!)) {
      const sample = Math.floor(i / inputSize);
      throw new Error(
        `Training data: sample ${sample} has a non-finite feature (${data.x[i]}) at index ${i % inputSize}; clean or impute it first.`,
      );
    }
  }
  for (let i = 0; i < data.n; i++) {
    const label = data.y[i]!;
    if (!(label >= 0 && label < model.numClasses)) {
      throw new Error(
        `Training data: sample ${i} has label ${label}, outside [0, ${model.numClasses}) for model ${model.name}.`,
      );
    }
  }
}

/** The data as tensors, from which batches are gathered by index. Dispose when done. */
export class DataTensors {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor1D;

  constructor(model: Model, data: TrainingData) {
    this.x = tf.tensor(data.x, [data.n, ...model.inputShape]);
    this.y = tf.tensor1d(data.y, 'int32');
  }

  /** Inputs and labels of the given samples (caller disposes). */
  gather(indices: Int32Array): { x: tf.Tensor; labels: tf.Tensor1D } {
    return tf.tidy(() => {
      const idx = tf.tensor1d(indices, 'int32');
      return { x: tf.gather(this.x, idx), labels: tf.gather(this.y, idx) as tf.Tensor1D };
    });
  }

  dispose(): void {
    this.x.dispose();
    this.y.dispose();
  }
}
