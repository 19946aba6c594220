// On-disk format of a file store, version 2. A store is a directory:
//
//   manifest.json        identity, row count, generation, erased ids, and for every segment its
//                        file name, row count, byte size and SHA-256; the deletion ledger and
//                        the head weights' file; itself checksummed
//   seg-GGGGGGGG-K.bin   immutable segments: a header, the segment's ids ascending, its rows
//   head-GGGGGGGG.bin    the weights after the last committed deletion: d float32, little-endian
//   store.lock.*         one per opener (see lock.ts)
//
// Version 1 is version 2 without a ledger (it reads as an empty one); the first commit of a
// version 1 store writes version 2.
// A segment is: "LETHESEG" | u32 formatVersion | u32 dtype (1 float32, 2 float16) | u32 d |
// u32 rowCount | i32 ids[rowCount] | rows[rowCount][d] in dtype, all little-endian. Every id
// lives in exactly one segment. Files are never modified in place: a change writes new segments
// and a new manifest, and the manifest's rename is the commit point.

import { createHash } from 'node:crypto';
import { StoreError } from '../errors.js';
import type { StoreDType, StoreIdentity } from '../types.js';
import { MAX_STORE_ID } from '../validate.js';

export const FORMAT_NAME = 'lethe-approximator-store';
export const FILE_FORMAT_VERSION = 2;
/** Versions this code reads. */
const READABLE_VERSIONS = [1, 2];
/** Segment files did not change in version 2: their header still says 1. */
export const SEGMENT_FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const LOCK_FILE = 'store.lock';
export const TEMP_SUFFIX = '.tmp';
export const SEGMENT_MAGIC = 'LETHESEG';
export const SEGMENT_HEADER_BYTES = 24;

const SEGMENT_NAME = /^seg-\d+-\d+\.bin$/;
const HEAD_NAME = /^head-\d+\.bin$/;
const DTYPE_CODES: Record<StoreDType, number> = { float32: 1, float16: 2 };

export interface SegmentEntry {
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

export interface ManifestBody extends StoreIdentity {
  readonly format: typeof FORMAT_NAME;
  readonly formatVersion: number;
  readonly rowCount: number;
  /** Bumped by every commit; names the segments that commit writes. */
  readonly generation: number;
  readonly segments: readonly SegmentEntry[];
  /** Ids whose rows were erased: kept so that they cannot be written again by mistake. */
  readonly erasedIds: readonly number[];
  /** The deletion ledger, oldest first (DeletionEntry objects); absent in version 1. */
  readonly ledger?: readonly unknown[];
  /** The head weights' file, present once the ledger holds a deletion. */
  readonly head?: HeadEntry;
}

export interface HeadEntry {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export function headFileName(generation: number): string {
  return `head-${String(generation).padStart(8, '0')}.bin`;
}

export function segmentFileName(generation: number, index: number): string {
  return `seg-${String(generation).padStart(8, '0')}-${index}.bin`;
}

/** Files this format may leave behind: segments, and temporary files of an unfinished commit. */
export function isStoreOwnedFile(name: string): boolean {
  const base = name.endsWith(TEMP_SUFFIX) ? name.slice(0, -TEMP_SUFFIX.length) : name;
  return (
    SEGMENT_NAME.test(base) || HEAD_NAME.test(base) || (base === MANIFEST_FILE && base !== name)
  );
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function corruptStoreError(dir: string, file: string, problem: string): StoreError {
  return new StoreError(
    'corrupt-store',
    `Approximator store ${dir} is damaged: ${file}: ${problem}. Fix: restore the directory from a backup, or recompute the approximators into a new store (openFileStore(newDir, expected, { create: true })).`,
  );
}

export function serializeManifest(body: ManifestBody): string {
  // The checksum covers the compact JSON of the body, which parse re-derives key for key.
  const manifestSha256 = sha256Hex(JSON.stringify(body));
  return `${JSON.stringify({ ...body, manifestSha256 }, null, 2)}\n`;
}

export function parseManifest(text: string, dir: string): ManifestBody {
  const fail = (problem: string) => corruptStoreError(dir, MANIFEST_FILE, problem);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw fail(`not valid JSON (${text.length} bytes; truncated or overwritten?)`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw fail('not a JSON object');
  }
  const { manifestSha256, ...body } = parsed as Record<string, unknown>;
  if (body.format !== FORMAT_NAME) {
    throw fail(`"format" is ${JSON.stringify(body.format)}, not "${FORMAT_NAME}"`);
  }
  if (!READABLE_VERSIONS.includes(body.formatVersion as number)) {
    throw new StoreError(
      'corrupt-store',
      `Approximator store ${dir}: ${MANIFEST_FILE} has formatVersion ${JSON.stringify(body.formatVersion)}, but this @lethe/store reads versions ${READABLE_VERSIONS.join(' and ')}; open it with the @lethe/store version that wrote it, or recompute the approximators into a new store.`,
    );
  }
  if (manifestSha256 !== sha256Hex(JSON.stringify(body))) {
    throw fail('checksum mismatch (the file was edited or damaged)');
  }
  return checkManifestFields(body, fail);
}

function checkManifestFields(
  body: Record<string, unknown>,
  fail: (problem: string) => StoreError,
): ManifestBody {
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  for (const key of ['modelDigest', 'layoutDigest', 'trajectoryDigest']) {
    if (typeof body[key] !== 'string') throw fail(`"${key}" is not a string`);
  }
  if (!isCount(body.d) || body.d === 0) throw fail('"d" is not a positive integer');
  if (!(typeof body.dtype === 'string' && body.dtype in DTYPE_CODES)) {
    throw fail(`"dtype" is ${JSON.stringify(body.dtype)}`);
  }
  for (const key of ['rowCount', 'generation']) {
    if (!isCount(body[key])) throw fail(`"${key}" is not a non-negative integer`);
  }
  const segments = body.segments;
  if (!Array.isArray(segments)) throw fail('"segments" is not an array');
  for (const s of segments as Record<string, unknown>[]) {
    const ok =
      typeof s === 'object' &&
      s !== null &&
      typeof s.file === 'string' &&
      SEGMENT_NAME.test(s.file) &&
      isCount(s.rows) &&
      isCount(s.bytes) &&
      typeof s.sha256 === 'string';
    if (!ok) throw fail(`segment entry ${JSON.stringify(s)} is malformed`);
  }
  const erased = body.erasedIds;
  if (!Array.isArray(erased) || !erased.every((id) => isCount(id) && id <= MAX_STORE_ID)) {
    throw fail('"erasedIds" is not an array of ids');
  }
  if (body.ledger !== undefined && !Array.isArray(body.ledger))
    throw fail('"ledger" is not an array');
  const head = body.head as Record<string, unknown> | undefined;
  if (
    head !== undefined &&
    !(
      typeof head === 'object' &&
      head !== null &&
      typeof head.file === 'string' &&
      HEAD_NAME.test(head.file) &&
      isCount(head.bytes) &&
      typeof head.sha256 === 'string'
    )
  ) {
    throw fail(`head entry ${JSON.stringify(head)} is malformed`);
  }
  return body as unknown as ManifestBody;
}

export function encodeSegmentHeader(
  rowCount: number,
  d: number,
  dtype: StoreDType,
  ids: Int32Array,
): Uint8Array {
  const header = new Uint8Array(SEGMENT_HEADER_BYTES + ids.length * 4);
  const view = new DataView(header.buffer);
  header.set(new TextEncoder().encode(SEGMENT_MAGIC), 0);
  view.setUint32(8, SEGMENT_FORMAT_VERSION, true);
  view.setUint32(12, DTYPE_CODES[dtype], true);
  view.setUint32(16, d, true);
  view.setUint32(20, rowCount, true);
  ids.forEach((id, i) => {
    view.setInt32(SEGMENT_HEADER_BYTES + i * 4, id, true);
  });
  return header;
}

/** Checks a segment's fixed header against what the manifest says about it. */
export function checkSegmentHeader(
  header: Uint8Array,
  expected: { rows: number; d: number; dtype: StoreDType },
  fail: (problem: string) => StoreError,
): void {
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  const magic = new TextDecoder().decode(header.subarray(0, 8));
  if (magic !== SEGMENT_MAGIC) throw fail(`does not start with ${SEGMENT_MAGIC}`);
  const fields: [string, number, number][] = [
    ['formatVersion', view.getUint32(8, true), SEGMENT_FORMAT_VERSION],
    ['dtype code', view.getUint32(12, true), DTYPE_CODES[expected.dtype]],
    ['d', view.getUint32(16, true), expected.d],
    ['row count', view.getUint32(20, true), expected.rows],
  ];
  for (const [name, found, want] of fields) {
    if (found !== want) throw fail(`header ${name} is ${found}, the manifest says ${want}`);
  }
}
