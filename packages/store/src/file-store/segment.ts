import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoreDType } from '../types.js';
import { corruptStoreError, encodeSegmentHeader, SEGMENT_HEADER_BYTES } from './format.js';

/** An immutable segment file and the ids it holds, ascending (row r holds ids[r]). */
export interface Segment {
  readonly file: string;
  readonly ids: Int32Array;
  readonly bytes: number;
  readonly sha256: string;
}

/** A segment that exists only in memory, with its bytes, until a commit writes it. */
export interface PendingSegment {
  readonly segment: Segment;
  readonly chunks: readonly Uint8Array[];
}

export function rowsOffset(segment: Segment): number {
  return SEGMENT_HEADER_BYTES + segment.ids.length * 4;
}

/** Builds a segment from ascending ids and their encoded rows (ids.length * rowBytes bytes). */
export function buildSegment(
  file: string,
  ids: Int32Array,
  rowBytes: Uint8Array,
  d: number,
  dtype: StoreDType,
): PendingSegment {
  const header = encodeSegmentHeader(ids.length, d, dtype, ids);
  const sha256 = createHash('sha256').update(header).update(rowBytes).digest('hex');
  return {
    segment: { file, ids, bytes: header.length + rowBytes.length, sha256 },
    chunks: [header, rowBytes],
  };
}

/**
 * Reads the given rows of a segment (any order) and returns their bytes concatenated in that
 * order. Runs of consecutive rows are read with one call each.
 */
export async function readSegmentRows(
  dir: string,
  segment: Segment,
  rows: readonly number[],
  rowBytes: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(rows.length * rowBytes);
  const order = rows.map((_, i) => i).sort((a, b) => rows[a]! - rows[b]!);
  const handle = await open(join(dir, segment.file), 'r');
  try {
    for (let runStart = 0; runStart < order.length; ) {
      let runEnd = runStart + 1;
      while (runEnd < order.length && rows[order[runEnd]!] === rows[order[runEnd - 1]!]! + 1) {
        runEnd++;
      }
      const firstRow = rows[order[runStart]!]!;
      const run = new Uint8Array((runEnd - runStart) * rowBytes);
      await readFully(handle, run, rowsOffset(segment) + firstRow * rowBytes, dir, segment.file);
      for (let k = runStart; k < runEnd; k++) {
        const from = (k - runStart) * rowBytes;
        out.set(run.subarray(from, from + rowBytes), order[k]! * rowBytes);
      }
      runStart = runEnd;
    }
  } finally {
    await handle.close();
  }
  return out;
}

export async function readFully(
  handle: Awaited<ReturnType<typeof open>>,
  target: Uint8Array,
  position: number,
  dir: string,
  file: string,
): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) {
      throw corruptStoreError(
        dir,
        file,
        `ends at byte ${position + done}, before the data it should hold`,
      );
    }
    done += bytesRead;
  }
}
