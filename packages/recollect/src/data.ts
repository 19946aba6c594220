import type { Model } from '@lethe/autodiff';
import { selectRows, sizeOfShape, type TrainingData, validateTrainingData } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';

export type { TrainingData };

/** Checks that the data fits the model; names the problem and the fix. */
export function validateData(model: Model, data: TrainingData): void {
  validateTrainingData(data, {
    inputSize: sizeOfShape(model.inputShape),
    numClasses: model.numClasses,
    name: `model ${model.name} (input shape [${model.inputShape}])`,
  });
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
    this.inputSize = sizeOfShape(model.inputShape);
  }

  /** Inputs and labels of the given samples (caller disposes). */
  gather(indices: ArrayLike<number>): { x: tf.Tensor; labels: tf.Tensor1D } {
    const rows = selectRows(this.data, indices, this.inputSize);
    return {
      x: tf.tensor(rows.x, [rows.n, ...this.inputShape]),
      labels: tf.tensor1d(rows.y, 'int32'),
    };
  }

  /** Nothing to free: kept for symmetry with tensor-holding resources. */
  dispose(): void {}
}
