import { LetheError } from './errors.js';

/** Training samples: `x` holds n samples of `inputSize` values back to back; `y` their labels. */
export interface TrainingData {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly n: number;
}

/** The number of values in one sample of this shape. */
export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export interface DataShape {
  /** Values per sample. */
  readonly inputSize: number;
  /** Labels are 0..numClasses-1. */
  readonly numClasses: number;
  /** For messages: the model or data set it must fit. */
  readonly name: string;
}

/** Checks lengths, finiteness and labels of training data against a shape; names the fix. */
export function validateTrainingData(data: TrainingData, shape: DataShape): void {
  const { inputSize, numClasses, name } = shape;
  if (!Number.isInteger(data.n) || data.n < 0) {
    throw new LetheError(
      'invalid-argument',
      `Training data: n must be a whole number >= 0, got ${data.n}.`,
    );
  }
  if (data.y.length !== data.n) {
    throw new LetheError(
      'shape-mismatch',
      `Training data: ${data.y.length} labels for n = ${data.n} samples; give one label per sample.`,
    );
  }
  if (data.x.length !== data.n * inputSize) {
    throw new LetheError(
      'shape-mismatch',
      `Training data: x has ${data.x.length} values, expected n * ${inputSize} = ${data.n * inputSize} for ${name}.`,
    );
  }
  for (let i = 0; i < data.x.length; i++) {
    if (!Number.isFinite(data.x[i]!)) {
      throw new LetheError(
        'non-finite',
        `Training data: sample ${Math.floor(i / inputSize)} has a non-finite feature (${data.x[i]}) at index ${i % inputSize}; clean or impute it first.`,
      );
    }
  }
  for (let i = 0; i < data.n; i++) {
    const label = data.y[i]!;
    if (!(Number.isInteger(label) && label >= 0 && label < numClasses)) {
      throw new LetheError(
        'invalid-argument',
        `Training data: sample ${i} has label ${label}; labels are whole numbers in [0, ${numClasses}) for ${name} (pass y as an Int32Array of class indices).`,
      );
    }
  }
}

/**
 * The rows `ids` of `data` (in that order), copied and renumbered 0..ids.length-1. Ids are
 * trusted here: check them with validateSampleIds where they come from a caller.
 */
export function selectRows(
  data: TrainingData,
  ids: ArrayLike<number>,
  inputSize: number,
): TrainingData {
  const m = ids.length;
  const x = new Float32Array(m * inputSize);
  const y = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    const id = ids[i]!;
    x.set(data.x.subarray(id * inputSize, (id + 1) * inputSize), i * inputSize);
    y[i] = data.y[id]!;
  }
  return { x, y, n: m };
}
