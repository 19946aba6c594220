import { decodeFloat16, encodeFloat16, float16BitsToNumber } from './float16.js';
import type { StoreDType } from './types.js';

// Rows at rest are little-endian. Typed arrays use the platform's order, so on a big-endian
// machine the codec goes through a DataView instead.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Bytes one value takes at rest in `dtype` (4 or 2); an adapter sizes its rows with it. */
export function bytesPerValue(dtype: StoreDType): number {
  return dtype === 'float16' ? 2 : 4;
}

/**
 * float32 rows -> their little-endian bytes in `dtype` (float16: rounded, ties to even), in a new
 * buffer. An adapter stores these bytes, so every adapter keeps the same encoding at rest (the
 * conformance suite looks for it when it checks that erased rows are gone).
 */
export function encodeRows(values: Float32Array, dtype: StoreDType): Uint8Array {
  const n = values.length;
  if (dtype === 'float32') {
    const bytes = new Uint8Array(n * 4);
    if (LITTLE_ENDIAN) {
      bytes.set(new Uint8Array(values.buffer, values.byteOffset, n * 4));
    } else {
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i]!, true);
    }
    return bytes;
  }
  const halves = new Uint16Array(n);
  encodeFloat16(values, halves);
  if (LITTLE_ENDIAN) return new Uint8Array(halves.buffer);
  const bytes = new Uint8Array(n * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) view.setUint16(i * 2, halves[i]!, true);
  return bytes;
}

/**
 * Little-endian `dtype` bytes (as encodeRows wrote them) -> float32 values written into
 * target[targetOffset...]; the bytes may sit at any offset. An adapter decodes what it read
 * straight into the array it returns.
 */
export function decodeRows(
  bytes: Uint8Array,
  dtype: StoreDType,
  target: Float32Array,
  targetOffset: number,
): void {
  const size = bytesPerValue(dtype);
  const n = bytes.length / size;
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < n; i++) {
      target[targetOffset + i] =
        dtype === 'float32'
          ? view.getFloat32(i * 4, true)
          : float16BitsToNumber(view.getUint16(i * 2, true));
    }
    return;
  }
  // Typed-array views need aligned offsets; copy when the bytes sit at an odd place.
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  if (dtype === 'float32') {
    target.set(new Float32Array(aligned.buffer, aligned.byteOffset, n), targetOffset);
  } else {
    decodeFloat16(new Uint16Array(aligned.buffer, aligned.byteOffset, n), target, targetOffset);
  }
}
