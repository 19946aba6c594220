import type { Model } from '@lethe/autodiff';
import type { TrainingData } from '@lethe/recollect';

/** The rows `ids` of a training set, renumbered 0..ids.length-1. */
export function selectRows(model: Model, data: TrainingData, ids: ArrayLike<number>): TrainingData {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  const list = Array.from(ids);
  const x = new Float32Array(list.length * size);
  const y = new Int32Array(list.length);
  list.forEach((id, i) => {
    x.set(data.x.subarray(id * size, (id + 1) * size), i * size);
    y[i] = data.y[id]!;
  });
  return { x, y, n: list.length };
}
