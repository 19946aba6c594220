// Helpers for an adapter's own tests beside the conformance suite (crash, corruption and
// erasure tests): an identity, recognisable rows, a snapshot of everything readable, and a
// search of the bytes at rest for a row that must be gone.
import type { ApproximatorStore, StoreIdentity } from './types.js';

/** An identity for tests: d = 6, float32. */
export const TEST_IDENTITY: StoreIdentity = {
  modelDigest: 'sha256:model',
  layoutDigest: 'sha256:layout',
  d: 6,
  dtype: 'float32',
  trajectoryDigest: 'sha256:trajectory',
};

/** Distinct rows, exactly representable in float16 and float32: id * 100 + j + 0.25. */
export function testRows(ids: readonly number[], d: number): Float32Array {
  const out = new Float32Array(ids.length * d);
  ids.forEach((id, i) => {
    for (let j = 0; j < d; j++) out[i * d + j] = id * 100 + j + 0.25;
  });
  return out;
}

/** Everything a reader sees: the manifest, the live ids and their rows. */
export async function snapshotStore(store: ApproximatorStore) {
  const ids = await store.liveIds();
  return {
    manifest: { ...store.manifest },
    ids: Array.from(ids),
    rows: Array.from(await store.readRows(ids)),
  };
}

/** Whether any of the byte arrays contains `needle` (an erased row must be in none). */
export function containsBytes(haystacks: Iterable<Uint8Array>, needle: Uint8Array): boolean {
  for (const h of haystacks) {
    if (Buffer.from(h.buffer, h.byteOffset, h.length).indexOf(needle) !== -1) return true;
  }
  return false;
}

/** The little-endian bytes of float32 values (a copy). */
export function float32Bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(
    values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength),
  );
}
