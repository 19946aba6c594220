import { LetheError } from '@lethe/core';
import type { Matrix } from './matrix.js';
import { requirePositiveInteger } from './validate.js';

/**
 * Chen et al. (2021)'s ways to turn the original model's posterior p_o and the unlearned model's
 * p_u on one sample into attack features:
 * - 'direct-diff': p_o - p_u (classes columns)
 * - 'sorted-diff': sort_desc(p_o) - sort_desc(p_u) (classes columns; label-free shape change)
 * - 'l2-distance': ||p_o - p_u||_2 (one column)
 * - 'direct-concat': [p_o, p_u] (2 x classes columns)
 * - 'sorted-concat': [sort_desc(p_o), sort_desc(p_u)] (2 x classes columns)
 */
export const FEATURE_KINDS = [
  'direct-diff',
  'sorted-diff',
  'l2-distance',
  'direct-concat',
  'sorted-concat',
] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

/** Rows must look like posteriors: logits passed by mistake would still give numbers. */
function checkPosteriors(
  where: string,
  name: string,
  p: ArrayLike<number>,
  classes: number,
): number {
  if (p.length % classes !== 0 || p.length === 0) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: ${name} has ${p.length} values, not a positive multiple of classes = ${classes}; pass [n, classes] posteriors row by row.`,
    );
  }
  const n = p.length / classes;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = p[i * classes + c]!;
      if (!(v >= 0 && v <= 1)) {
        throw new LetheError(
          'invalid-argument',
          `${where}: ${name} row ${i} has ${v} in class ${c}; posteriors lie in [0, 1] (apply posteriors() to logits first).`,
        );
      }
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-4) {
      throw new LetheError(
        'invalid-argument',
        `${where}: ${name} row ${i} sums to ${sum}, not 1; pass softmax posteriors (posteriors() turns logits into them).`,
      );
    }
  }
  return n;
}

/** The attack features of each sample from its two posteriors. */
export function unlearningFeatures(
  original: ArrayLike<number>,
  unlearned: ArrayLike<number>,
  classes: number,
  kind: FeatureKind,
): Matrix {
  const where = 'unlearningFeatures';
  requirePositiveInteger(where, 'classes', classes);
  const n = checkPosteriors(where, 'original', original, classes);
  const nu = checkPosteriors(where, 'unlearned', unlearned, classes);
  if (n !== nu) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: ${n} original posteriors but ${nu} unlearned ones; pass both models' posteriors on the same samples.`,
    );
  }
  if (!(FEATURE_KINDS as readonly string[]).includes(kind)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: unknown feature '${kind}'; use one of ${FEATURE_KINDS.join(', ')}.`,
    );
  }
  const cols =
    kind === 'l2-distance'
      ? 1
      : kind === 'direct-concat' || kind === 'sorted-concat'
        ? 2 * classes
        : classes;
  const data = new Float64Array(n * cols);
  const po = new Float64Array(classes);
  const pu = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) {
      po[c] = original[i * classes + c]!;
      pu[c] = unlearned[i * classes + c]!;
    }
    if (kind === 'sorted-diff' || kind === 'sorted-concat') {
      po.sort().reverse();
      pu.sort().reverse();
    }
    const row = i * cols;
    if (kind === 'l2-distance') {
      let s = 0;
      for (let c = 0; c < classes; c++) s += (po[c]! - pu[c]!) ** 2;
      data[row] = Math.sqrt(s);
    } else if (kind === 'direct-diff' || kind === 'sorted-diff') {
      for (let c = 0; c < classes; c++) data[row + c] = po[c]! - pu[c]!;
    } else {
      data.set(po, row);
      data.set(pu, row + classes);
    }
  }
  return { rows: n, cols, data };
}
