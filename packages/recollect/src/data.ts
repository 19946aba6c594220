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

/**
 * Builds batch tensors from the training data by index. Rows are copied on the host: the wasm
 * backend's gather is far slower than copying a few hundred floats per sample.
 */
export class DataTensors {
  private readonly inputSize: number;
  private readonly inputShape: readonly number[];

  constructor(
    model: Model,
    private readonly data: TrainingData,
  ) {
    this.inputShape = model.inputShape;
    this.inputSize = model.inputShape.reduce((a, b) => a * b, 1);
  }

  /** Inputs and labels of the given samples (caller disposes). */
  gather(indices: ArrayLike<number>): { x: tf.Tensor; labels: tf.Tensor1D } {
    const m = indices.length;
    const size = this.inputSize;
    const x = new Float32Array(m * size);
    const y = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const id = indices[i]!;
      x.set(this.data.x.subarray(id * size, (id + 1) * size), i * size);
      y[i] = this.data.y[id]!;
    }
    return { x: tf.tensor(x, [m, ...this.inputShape]), labels: tf.tensor1d(y, 'int32') };
  }

  /** Nothing to free: kept for symmetry with tensor-holding resources. */
  dispose(): void {}
}
