import { LetheError } from '@lethe/core';
/**
 * The IDX format (used by MNIST and Fashion-MNIST): a 4-byte big-endian magic number
 * 0x0000TTDD (TT = element type, DD = number of dimensions), then DD big-endian uint32 sizes,
 * then the elements in row-major order.
 */

/** Element type 0x08: unsigned byte, the only one image and label files use. */
export const IDX_UNSIGNED_BYTE = 0x08;

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

const hex32 = (value: number): string => `0x${value.toString(16).padStart(8, '0')}`;

/**
 * Parses an unsigned-byte IDX array of `expectedRank` dimensions. `file` and `kind` only go into
 * error messages, which say what is wrong and what the header promised.
 */
export function parseIdx(
  bytes: Uint8Array,
  expectedRank: number,
  file: string,
  kind: string,
): IdxArray {
  const expectedMagic = (IDX_UNSIGNED_BYTE << 8) | expectedRank;
  if (bytes.length < 4) {
    throw new LetheError(
      'invalid-file',
      `${file}: only ${bytes.length} bytes, too short for an IDX ${kind} file ` +
        `(it should start with the magic number ${hex32(expectedMagic)}). Download it again.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic >>> 16 !== 0) {
    throw new LetheError(
      'invalid-file',
      `${file}: wrong magic number ${hex32(magic)}; an IDX ${kind} file starts with ` +
        `${hex32(expectedMagic)}. This is not an IDX file (an HTML error page saved by a failed ` +
        'download, or a different format?).',
    );
  }
  const type = (magic >>> 8) & 0xff;
  if (type !== IDX_UNSIGNED_BYTE) {
    throw new LetheError(
      'invalid-file',
      `${file}: wrong magic number ${hex32(magic)}: element type 0x${type.toString(16)} is not ` +
        `supported; ${kind} files hold unsigned bytes (magic ${hex32(expectedMagic)}).`,
    );
  }
  const rank = magic & 0xff;
  if (rank !== expectedRank) {
    throw new LetheError(
      'invalid-file',
      `${file}: wrong dimensions: the header declares ${rank} dimensions, but an IDX ${kind} ` +
        `file has ${expectedRank} (magic ${hex32(expectedMagic)}). Are the image and label ` +
        'files swapped?',
    );
  }
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new LetheError(
      'invalid-file',
      `${file}: truncated header: ${rank} dimensions need ${headerBytes} header bytes but the ` +
        `file has ${bytes.length}. Download it again.`,
    );
  }
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d));
  const declared = dims.reduce((a, b) => a * b, 1);
  const present = bytes.length - headerBytes;
  if (present < declared) {
    throw new LetheError(
      'invalid-file',
      `${file}: truncated: the header declares ${dims.join(' x ')} = ${declared} bytes of data ` +
        `but only ${present} follow. The file is incomplete; download it again.`,
    );
  }
  if (present > declared) {
    throw new LetheError(
      'invalid-file',
      `${file}: ${present - declared} unexpected bytes after the ${declared} bytes of data its ` +
        `header declares (${dims.join(' x ')}). The file is corrupt or not what its name says; ` +
        'download it again.',
    );
  }
  return { dims, data: bytes.subarray(headerBytes) };
}
