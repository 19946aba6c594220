import { LetheError } from './errors.js';

export interface SampleIdCheck {
  /** Who is asking, for the message: 'Unlearner.forget', 'retrain', ... */
  readonly context: string;
  /** The ids are 0..n-1. */
  readonly n: number;
  /** An empty list is an error unless this is true. */
  readonly allowEmpty?: boolean;
}

/**
 * Checks a list of training-sample ids: integers in 0..n-1, each once. Returns them as an
 * Int32Array (a copy). Throws LetheError with code 'unknown-id', 'duplicate-id' or
 * 'invalid-argument' naming the first offending id.
 */
export function validateSampleIds(ids: ArrayLike<number>, check: SampleIdCheck): Int32Array {
  const { context, n } = check;
  if (ids.length === 0 && !check.allowEmpty) {
    throw new LetheError('invalid-argument', `${context}: no sample ids given; pass at least one.`);
  }
  const seen = new Set<number>();
  const out = new Int32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!(Number.isInteger(id) && id >= 0 && id < n)) {
      throw new LetheError(
        'unknown-id',
        `${context}: unknown sample id ${id}: the training set has ids 0..${n - 1} (whole numbers).`,
      );
    }
    if (seen.has(id)) {
      throw new LetheError(
        'duplicate-id',
        `${context}: sample id ${id} is listed twice in one request; list it once.`,
      );
    }
    seen.add(id);
    out[i] = id;
  }
  return out;
}
