import { LetheError } from '@lethe/core';

/** A size or count must be a whole number >= min: a fraction or NaN would give a nonsense d. */
export function requireWhole(where: string, what: string, value: unknown, min: number): number {
  if (!(typeof value === 'number' && Number.isInteger(value) && value >= min)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: ${what} is ${String(value)}; it must be a whole number >= ${min}.`,
    );
  }
  return value;
}

/** A per-sample shape: a non-empty array of whole numbers >= 1. */
export function requireShape(where: string, what: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape) || shape.length === 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: ${what} must be a non-empty array of whole numbers, e.g. [28, 28, 1] or [13].`,
    );
  }
  shape.forEach((v, i) => requireWhole(where, `${what}[${i}]`, v, 1));
  return shape;
}

/** Throws 'non-finite' on the first NaN or infinite value of a host array, naming it. */
export function requireFiniteValues(
  where: string,
  what: string,
  values: ArrayLike<number>,
  fix: string,
): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new LetheError('non-finite', `${where}: ${what}[${i}] is ${values[i]}; ${fix}`);
    }
  }
}
