import { createHash } from 'node:crypto';
import { LetheError } from './errors.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** SHA-256 (hex) of the float32 values as little-endian bytes, whatever the host's byte order. */
export function weightsSha256(weights: Float32Array): string {
  if (!(weights instanceof Float32Array)) {
    throw new LetheError(
      'invalid-argument',
      'weightsSha256: weights must be a Float32Array (the released float32 weights); wrap other arrays with Float32Array.from.',
    );
  }
  let bytes: Uint8Array;
  if (LITTLE_ENDIAN) {
    bytes = new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength);
  } else {
    const view = new DataView(new ArrayBuffer(weights.byteLength));
    for (let i = 0; i < weights.length; i++) view.setFloat32(4 * i, weights[i]!, true);
    bytes = new Uint8Array(view.buffer);
  }
  return createHash('sha256').update(bytes).digest('hex');
}
