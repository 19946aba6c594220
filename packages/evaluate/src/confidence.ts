import { LetheError } from '@lethe/core';
import { requireFinite, requirePositiveInteger } from './validate.js';

/** One label per row of logits, each a class index in [0, classes). */
export function checkLabels(
  where: string,
  labels: ArrayLike<number>,
  rows: number,
  classes: number,
): void {
  if (labels.length !== rows) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: ${rows} rows of logits but ${labels.length} labels; pass one label per row.`,
    );
  }
  for (let i = 0; i < rows; i++) {
    const y = labels[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= classes) {
      throw new LetheError(
        'invalid-argument',
        `${where}: labels[${i}] is ${y}; a label must be an integer in [0, ${classes - 1}].`,
      );
    }
  }
}

export function checkLogits(where: string, logits: ArrayLike<number>, classes: number): number {
  requirePositiveInteger(where, 'classes', classes);
  if (classes < 2)
    throw new LetheError(
      'invalid-argument',
      `${where}: needs at least 2 classes, got ${classes}; pass the model's class count.`,
    );
  if (logits.length % classes !== 0) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: logits has ${logits.length} values, not a multiple of classes = ${classes}; pass the [n, classes] logits row by row.`,
    );
  }
  requireFinite(where, 'logits', logits);
  return logits.length / classes;
}

/**
 * LiRA's logit-scaled confidence `log p_y - log sum_{y' != y} p_y'` for each row of logits.
 * The softmax normaliser cancels, so it is `z_y - logsumexp_{y' != y} z_y'`: exact from the
 * logits, without forming probabilities that round to 1 (where `log(1 - p)` would be -Infinity).
 */
export function logitScaledConfidence(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): Float64Array {
  const where = 'logitScaledConfidence';
  const n = checkLogits(where, logits, classes);
  checkLabels(where, labels, n, classes);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    const row = i * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) if (c !== y) max = Math.max(max, logits[row + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) if (c !== y) sum += Math.exp(logits[row + c]! - max);
    out[i] = logits[row + y]! - (max + Math.log(sum));
  }
  return out;
}

/** Softmax of each row of logits (max-shifted), as float64 posteriors [n, classes]. */
export function posteriors(logits: ArrayLike<number>, classes: number): Float64Array {
  const n = checkLogits('posteriors', logits, classes);
  const out = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[row + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(logits[row + c]! - max);
      out[row + c] = e;
      sum += e;
    }
    for (let c = 0; c < classes; c++) out[row + c]! /= sum;
  }
  return out;
}
