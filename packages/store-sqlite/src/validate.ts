// Input validation, kept identical to @lethe/store's src/validate.ts (which that package does
// not export): the conformance suite checks the messages, and every adapter must reject the
// same inputs with the same words.

import type { StoreDType, StoreIdentity } from '@lethe/store';
import { StoreError } from '@lethe/store';
import { FLOAT16_MAX, FLOAT16_OVERFLOW } from './float16.js';

/** Ids are sample indices; Int32 because liveIds() returns an Int32Array. */
export const MAX_ID = 2 ** 31 - 1;

const DTYPES: readonly StoreDType[] = ['float32', 'float16'];

/** Checks the identity a store is created or opened with; returns a plain copy. */
export function checkIdentity(value: StoreIdentity, where: string): StoreIdentity {
  if (typeof value !== 'object' || value === null) {
    throw new StoreError(
      'invalid-argument',
      `${where}: expected { modelDigest, layoutDigest, trajectoryDigest, d, dtype }, got ${String(value)}`,
    );
  }
  for (const key of ['modelDigest', 'layoutDigest', 'trajectoryDigest'] as const) {
    const digest = value[key];
    if (typeof digest !== 'string' || digest.length === 0) {
      throw new StoreError(
        'invalid-argument',
        `${where}: ${key} must be a non-empty string, got ${JSON.stringify(digest)}; pass the digest of the model/layout/trajectory the approximators belong to`,
      );
    }
  }
  const { d, dtype } = value;
  if (!Number.isSafeInteger(d) || d < 1) {
    throw new StoreError(
      'invalid-argument',
      `${where}: d must be a positive integer (the model's flat parameter count), got ${String(d)}`,
    );
  }
  if (!DTYPES.includes(dtype)) {
    throw new StoreError(
      'invalid-argument',
      `${where}: dtype must be 'float32' or 'float16', got ${JSON.stringify(dtype)}`,
    );
  }
  return {
    modelDigest: value.modelDigest,
    layoutDigest: value.layoutDigest,
    d,
    dtype,
    trajectoryDigest: value.trajectoryDigest,
  };
}

export function checkId(op: string, id: number, where = 'id'): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
    throw new StoreError(
      'invalid-argument',
      `${op}: ${where} is ${String(id)}; ids must be integers in [0, ${MAX_ID}] (sample indices)`,
    );
  }
}

/** Validates a list of ids (integers, in range, each once) and returns it as an Int32Array. */
export function checkIds(op: string, ids: ArrayLike<number>): Int32Array {
  if (ids === null || typeof ids !== 'object' || typeof ids.length !== 'number') {
    throw new StoreError(
      'invalid-argument',
      `${op}: ids must be an array or typed array of integers, got ${String(ids)}`,
    );
  }
  const out = new Int32Array(ids.length);
  const firstSeenAt = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    checkId(op, id, `ids[${i}]`);
    const earlier = firstSeenAt.get(id);
    if (earlier !== undefined) {
      throw new StoreError(
        'invalid-argument',
        `${op}: id ${id} appears twice (ids[${earlier}] and ids[${i}]); pass each id once per call`,
      );
    }
    firstSeenAt.set(id, i);
    out[i] = id;
  }
  return out;
}

/** Checks that `rows` holds one finite row per id and that each value fits the dtype. */
export function checkRows(
  op: string,
  ids: Int32Array,
  rows: Float32Array,
  d: number,
  dtype: StoreDType,
): void {
  if (!(rows instanceof Float32Array)) {
    throw new StoreError(
      'invalid-rows',
      `${op}: rows must be a Float32Array (ids.length * d values, row-major); wrap the data with new Float32Array(...)`,
    );
  }
  if (rows.length !== ids.length * d) {
    throw new StoreError(
      'invalid-rows',
      `${op}: rows has ${rows.length} values but ${ids.length} ids * d = ${d} need ${ids.length * d}; pass exactly one row of d values per id, row-major`,
    );
  }
  const limit = dtype === 'float16' ? FLOAT16_OVERFLOW : Number.POSITIVE_INFINITY;
  for (let k = 0; k < rows.length; k++) {
    const v = rows[k]!;
    if (Number.isFinite(v) && Math.abs(v) < limit) continue;
    const row = Math.floor(k / d);
    const at = `row of id ${ids[row]} (ids[${row}]) has ${String(v)} at index ${k - row * d} (d = ${d})`;
    if (!Number.isFinite(v)) {
      throw new StoreError(
        'invalid-rows',
        `${op}: ${at}; approximators must be finite. The recursion diverged or its input is corrupt: check the trajectory (step sizes, clipping) and recompute this row. Nothing was written.`,
      );
    }
    throw new StoreError(
      'invalid-rows',
      `${op}: ${at}, which overflows float16 (largest finite value ${FLOAT16_MAX}); use a store with dtype 'float32'. Nothing was written.`,
    );
  }
}

export function checkBlockRange(start: number, count: number, rowCount: number): void {
  for (const [name, value] of [
    ['start', start],
    ['count', count],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new StoreError(
        'invalid-argument',
        `readBlock: ${name} must be a non-negative integer, got ${String(value)}`,
      );
    }
  }
  if (start + count > rowCount) {
    throw new StoreError(
      'invalid-argument',
      `readBlock: rows ${start}..${start + count - 1} requested but the store has ${rowCount} live rows; keep start + count <= manifest.rowCount`,
    );
  }
}

export type IdState = 'live' | 'erased' | 'unknown';

/** Rejects the call unless every id is live (readRows, erase). */
export function requireLive(op: string, ids: Int32Array, stateOf: (id: number) => IdState): void {
  for (const id of ids) {
    const state = stateOf(id);
    if (state === 'live') continue;
    const unchanged = op === 'readRows' ? '' : ' Nothing was changed.';
    if (state === 'erased') {
      const what =
        op === 'erase'
          ? `id ${id} was already erased`
          : `id ${id} was erased (its sample was forgotten, so its row is gone by design); drop it from the request`;
      throw new StoreError('erased-id', `${op}: ${what}.${unchanged}`);
    }
    throw new StoreError(
      'unknown-id',
      `${op}: id ${id} is not in the store (it was never written); check the id or write its row first.${unchanged}`,
    );
  }
}

/** Rejects writing a row whose sample was forgotten: that would bring the sample back. */
export function requireNotErased(op: string, ids: Int32Array, isErased: (id: number) => boolean) {
  for (const id of ids) {
    if (isErased(id)) {
      throw new StoreError(
        'erased-id',
        `${op}: id ${id} was erased (its sample was forgotten) and cannot be written again; give a new sample a new id, or start a new store. Nothing was written.`,
      );
    }
  }
}
