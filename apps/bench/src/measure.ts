// Bench-side glue between a model and @lethe/evaluate's array metrics: logits of chosen rows
// (inference through @lethe/autodiff), then accuracy and losses from them.
import { type BackendInfo, type Model, predictLogits } from '@lethe/autodiff';
import { selectRows, sizeOfShape } from '@lethe/core';
import type { Dataset } from '@lethe/datasets';
import { accuracy, crossEntropyLosses } from '@lethe/evaluate';

export function backendRecord(info: BackendInfo) {
  return { name: info.name, reason: info.reason, unavailable: info.unavailable };
}

function rowsOf(data: Dataset, rows?: ArrayLike<number>) {
  return rows === undefined ? data : selectRows(data, rows, sizeOfShape(data.featureShape));
}

/** Logits of the weights on a data set (or some of its rows), [rows, classes]. */
export function logitsOn(
  model: Model,
  weights: Float32Array,
  data: Dataset,
  rows?: ArrayLike<number>,
): Float32Array {
  const { x, n } = rowsOf(data, rows);
  return predictLogits(model, weights, x, n);
}

/**
 * Accuracy of the weights on a data set (or some of its rows). NaN for no rows, and NaN when
 * the logits overflow (a release noised with an astronomically large sigma): such a model
 * predicts nothing, and a chance-level number would pretend it does.
 */
export function accuracyOn(
  model: Model,
  weights: Float32Array,
  data: Dataset,
  rows?: ArrayLike<number>,
): number {
  const { x, y, n } = rowsOf(data, rows);
  const logits = predictLogits(model, weights, x, n);
  if (!logits.every(Number.isFinite)) return Number.NaN;
  return accuracy(logits, y, model.numClasses);
}

/** Per-sample cross-entropy losses of the given rows. */
export function lossesOn(
  model: Model,
  weights: Float32Array,
  data: Dataset,
  rows: ArrayLike<number>,
): Float64Array {
  const { x, y, n } = rowsOf(data, rows);
  return crossEntropyLosses(predictLogits(model, weights, x, n), y, model.numClasses);
}
