import { LetheError } from '@lethe/core';

// Argument checks shared by every public function. Each message names the argument, the value it
// got and the range it accepts, so a caller can fix the call without reading the source.

function show(value: unknown): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function fail(where: string, name: string, value: unknown, range: string): never {
  throw new LetheError(
    'invalid-argument',
    `${where}: ${name} = ${show(value)} is invalid; expected ${range}.`,
  );
}

export function requirePositive(where: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(where, name, value, 'a finite number > 0');
  }
  return value;
}

export function requireNonNegative(where: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(where, name, value, 'a finite number >= 0');
  }
  return value;
}

export function requireOpenUnit(where: string, name: string, value: number): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) {
    fail(where, name, value, 'a number in the open interval (0, 1)');
  }
  return value;
}

export function requireInRange(
  where: string,
  name: string,
  value: number,
  min: number,
  max: number,
  range: string,
): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    fail(where, name, value, range);
  }
  return value;
}

export function requireInteger(where: string, name: string, value: number, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(where, name, value, `an integer >= ${min}`);
  }
  return value;
}

export function requireNonEmptyString(where: string, name: string, value: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    fail(where, name, value, 'a non-empty string');
  }
  return value;
}

/** Throws on the first NaN or infinite entry, naming it. */
export function requireFinite(where: string, name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) {
      throw new LetheError(
        'non-finite',
        `${where}: ${name}[${i}] is ${values[i]}; pass finite values (check what produced them).`,
      );
    }
  }
}
