import { StoreError } from './errors.js';
import { FLOAT16_MAX, FLOAT16_OVERFLOW } from './float16.js';
import type { StoreDType, StoreIdentity } from './types.js';

/**
 * Largest id a store accepts. Ids are sample indices, kept as Int32 because liveIds() returns an
 * Int32Array; an adapter uses it to bound the ids it reads back from its own storage.
 */
export const MAX_STORE_ID = 2 ** 31 - 1;

const DTYPES: readonly StoreDType[] = ['float32', 'float16'];

/**
 * Checks the identity a store is created or opened with and returns a plain copy. An adapter
 * calls it first thing when it opens, so every adapter rejects a bad identity with the same
 * message; `where` names the caller (e.g. 'openSqliteStore').
 */
export function validateIdentity(value: StoreIdentity, where: string): StoreIdentity {
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

/**
 * Checks one id (an integer in [0, MAX_STORE_ID]); adapters call it in `has` so that a bad id is
 * rejected with the same message everywhere. `where` names the argument in the message.
 */
export function validateId(op: string, id: number, where = 'id'): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_STORE_ID) {
    throw new StoreError(
      'invalid-argument',
      `${op}: ${where} is ${String(id)}; ids must be integers in [0, ${MAX_STORE_ID}] (sample indices)`,
    );
  }
}

/**
 * Validates a list of ids (integers, in range, each once) and returns it as an Int32Array. An
 * adapter calls it at the top of writeRows, readRows and erase, before it changes anything.
 */
export function validateIds(op: string, ids: ArrayLike<number>): Int32Array {
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
    validateId(op, id, `ids[${i}]`);
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

/**
 * Checks that `rows` is a Float32Array of one finite row per id and that each value fits the
 * dtype (float16 overflow is rejected, not stored as Infinity). An adapter calls it in writeRows
 * before it writes, so a rejected write leaves the store as it was.
 */
export function validateRows(
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

/**
 * Checks readBlock's `start` and `count` against the store's live row count; an adapter calls it
 * before it reads so that out-of-range blocks fail with the same message everywhere.
 */
export function validateBlockRange(start: number, count: number, rowCount: number): void {
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

/** What an adapter knows about an id, for requireLiveIds: written, erased or never seen. */
export type StoreIdState = 'live' | 'erased' | 'unknown';

/**
 * Rejects the call unless every id is live. An adapter calls it in readRows and erase with a
 * look-up of its own state, so that unknown and erased ids fail with the codes and messages the
 * conformance suite expects.
 */
export function requireLiveIds(
  op: string,
  ids: Int32Array,
  stateOf: (id: number) => StoreIdState,
): void {
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

/**
 * Rejects writing a row whose sample was forgotten: that would bring the sample back. An adapter
 * calls it in writeRows with a look-up of the ids it has erased.
 */
export function requireNotErasedIds(
  op: string,
  ids: Int32Array,
  isErased: (id: number) => boolean,
) {
  for (const id of ids) {
    if (isErased(id)) {
      throw new StoreError(
        'erased-id',
        `${op}: id ${id} was erased (its sample was forgotten) and cannot be written again; give a new sample a new id, or start a new store. Nothing was written.`,
      );
    }
  }
}

/**
 * Every check of a writeRows request, in the order the adapters apply them: the ids, one finite
 * row per id that fits the dtype, no erased id. An adapter calls it first in writeRows and writes
 * the ids it returns; a rejected write leaves the store as it was.
 */
export function validateWrite(
  ids: ArrayLike<number>,
  rows: Float32Array,
  identity: Pick<StoreIdentity, 'd' | 'dtype'>,
  isErased: (id: number) => boolean,
): Int32Array {
  const idList = validateIds('writeRows', ids);
  validateRows('writeRows', idList, rows, identity.d, identity.dtype);
  requireNotErasedIds('writeRows', idList, isErased);
  return idList;
}
