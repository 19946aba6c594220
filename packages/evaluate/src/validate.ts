import { LetheError } from '@lethe/core';
/**
 * Input checks shared by the attacks. Every message names the argument, what was wrong and
 * what to do, because a silent NaN or a one-class label vector gives an AUC that looks real.
 */

export function requireSameLength(
  where: string,
  a: { name: string; length: number },
  b: { name: string; length: number },
): void {
  if (a.length !== b.length) {
    throw new LetheError(
      'shape-mismatch',
      `${where}: ${a.name} has ${a.length} entries but ${b.name} has ${b.length}; pass one entry per sample in both.`,
    );
  }
}

/** Throws on the first NaN or infinite value. */
export function requireFinite(where: string, name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) {
      throw new LetheError(
        'non-finite',
        `${where}: ${name}[${i}] is ${v}; every value must be a finite number (check the model's outputs or drop the sample).`,
      );
    }
  }
}

/** Labels must be 0 or 1 and both classes present; returns the counts. */
export function requireBinaryLabels(
  where: string,
  name: string,
  labels: ArrayLike<number>,
): { positives: number; negatives: number } {
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v === 1) positives++;
    else if (v === 0) negatives++;
    else {
      throw new LetheError(
        'invalid-argument',
        `${where}: ${name}[${i}] is ${v}; labels must be 1 (member) or 0 (non-member).`,
      );
    }
  }
  if (positives === 0 || negatives === 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: ${name} holds only ${positives === 0 ? 'non-members (0)' : 'members (1)'} (${labels.length} samples); an ROC needs both classes, so include samples of the other class.`,
    );
  }
  return { positives, negatives };
}

export function requirePositiveInteger(where: string, name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: ${name} must be an integer >= 1, got ${value}.`,
    );
  }
  return value;
}

export function requireFiniteNumber(where: string, name: string, value: number): number {
  if (!Number.isFinite(value)) {
    throw new LetheError('non-finite', `${where}: ${name} must be a finite number, got ${value}.`);
  }
  return value;
}
