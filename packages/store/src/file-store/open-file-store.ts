import { mkdir, open, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StoreError, storeIoError } from '../errors.js';
import { checkHeadWeights, LedgerBook } from '../ledger.js';
import { assertManifestMatches } from '../manifest-match.js';
import { bytesPerValue, decodeRows } from '../row-codec.js';
import type { ApproximatorStore, StoreIdentity } from '../types.js';
import { validateIdentity } from '../validate.js';
import {
  type CommitHook,
  fileSize,
  renameTempFile,
  scrubAndRemove,
  sha256OfFile,
  syncDirectory,
  writeTempFile,
} from './durable-fs.js';
import { FileStore, type FileStoreState, type Head } from './file-store.js';
import {
  checkSegmentHeader,
  corruptStoreError,
  FILE_FORMAT_VERSION,
  FORMAT_NAME,
  isStoreOwnedFile,
  LOCK_FILE,
  MANIFEST_FILE,
  type ManifestBody,
  parseManifest,
  SEGMENT_HEADER_BYTES,
  type SegmentEntry,
  serializeManifest,
  sha256Hex,
} from './format.js';
import { acquireLock, isLockFile } from './lock.js';
import { readFully, type Segment } from './segment.js';

export interface OpenFileStoreOptions {
  /** Create an empty store when `dir` has none (the directory is created too). */
  readonly create?: boolean;
  /**
   * Upper bound on the row bytes of one segment file (at least one row per segment). Erasing a
   * row rewrites its segment, so this bounds the cost of an erase. Default 16 MiB.
   */
  readonly maxSegmentBytes?: number;
}

const DEFAULT_MAX_SEGMENT_BYTES = 16 * 2 ** 20;

/**
 * Opens the approximator store in `dir`, which must belong to `expected` (model, layout,
 * trajectory, d, dtype). Every file is checked against the manifest's sizes and SHA-256 sums,
 * so a damaged store fails here rather than feeding wrong rows into an unlearning step.
 */
export function openFileStore(
  dir: string,
  expected: StoreIdentity,
  options: OpenFileStoreOptions = {},
): Promise<ApproximatorStore> {
  return openFileStoreWithHook(dir, expected, options, undefined);
}

/** openFileStore with a hook called at each commit step: the crash tests use it. */
export async function openFileStoreWithHook(
  dir: string,
  expected: StoreIdentity,
  options: OpenFileStoreOptions,
  hook: CommitHook | undefined,
): Promise<ApproximatorStore> {
  const identity = validateIdentity(expected, 'openFileStore');
  const maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
  if (!Number.isSafeInteger(maxSegmentBytes) || maxSegmentBytes < 1) {
    throw new StoreError(
      'invalid-argument',
      `openFileStore: maxSegmentBytes must be a positive integer, got ${String(maxSegmentBytes)}`,
    );
  }
  const root = resolve(dir);
  try {
    return await openIn(root, identity, options.create === true, maxSegmentBytes, hook);
  } catch (error) {
    throw storeIoError('openFileStore', root, error);
  }
}

async function openIn(
  root: string,
  identity: StoreIdentity,
  create: boolean,
  maxSegmentBytes: number,
  hook: CommitHook | undefined,
): Promise<ApproximatorStore> {
  await ensureDirectory(root, create);
  const releaseLock = await acquireLock(root);
  try {
    let text = await readManifestText(root);
    if (text === undefined) {
      if (!create) {
        throw new StoreError(
          'not-found',
          `No approximator store in ${root} (${MANIFEST_FILE} is missing); pass { create: true } to create one there, or check the path.`,
        );
      }
      text = await initialize(root, identity);
    }
    const body = parseManifest(text, root);
    assertManifestMatches(body, identity);
    const state = await loadSegments(root, body);
    await removeLeftovers(root, body);
    return new FileStore(root, identity, state, releaseLock, maxSegmentBytes, hook);
  } catch (error) {
    await releaseLock();
    throw error;
  }
}

async function ensureDirectory(root: string, create: boolean): Promise<void> {
  try {
    if ((await stat(root)).isDirectory()) return;
    throw new StoreError(
      'invalid-argument',
      `openFileStore: ${root} is a file, not a directory; a file store is a directory`,
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (!create) {
    throw new StoreError(
      'not-found',
      `No approximator store at ${root} (the directory does not exist); pass { create: true } to create one, or check the path.`,
    );
  }
  await mkdir(root, { recursive: true });
}

async function readManifestText(root: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes the manifest of an empty store, refusing directories that hold anything else. */
async function initialize(root: string, identity: StoreIdentity): Promise<string> {
  // Lock files and their temporaries are the openers', not foreign.
  const foreign = (await readdir(root)).filter(
    (f) => !isLockFile(f) && !f.startsWith(`${LOCK_FILE}.`) && !isStoreOwnedFile(f),
  );
  if (foreign.length > 0) {
    throw new StoreError(
      'invalid-argument',
      `openFileStore: ${root} is not empty (it holds ${JSON.stringify(foreign.slice(0, 3))}${foreign.length > 3 ? ' and more' : ''}) and has no ${MANIFEST_FILE}; create the store in an empty or new directory.`,
    );
  }
  const body: ManifestBody = {
    format: FORMAT_NAME,
    formatVersion: FILE_FORMAT_VERSION,
    ...identity,
    rowCount: 0,
    generation: 0,
    segments: [],
    erasedIds: [],
    ledger: [],
  };
  const text = serializeManifest(body);
  await writeTempFile(root, MANIFEST_FILE, [text]);
  await renameTempFile(root, MANIFEST_FILE);
  await syncDirectory(root);
  return text;
}

/** Checks every segment against the manifest and reads the ids it holds. */
async function loadSegments(root: string, body: ManifestBody): Promise<FileStoreState> {
  const erased = new Set(body.erasedIds);
  const owner = new Map<number, string>();
  const segments: Segment[] = [];
  for (const entry of body.segments) {
    const ids = await loadSegmentIds(root, entry, body);
    for (const id of ids) {
      const fail = (problem: string) => corruptStoreError(root, entry.file, problem);
      if (erased.has(id)) throw fail(`holds id ${id}, which the manifest lists as erased`);
      const other = owner.get(id);
      if (other !== undefined) throw fail(`holds id ${id}, which ${other} holds too`);
      owner.set(id, entry.file);
    }
    segments.push({ file: entry.file, ids, bytes: entry.bytes, sha256: entry.sha256 });
  }
  if (owner.size !== body.rowCount) {
    throw corruptStoreError(
      root,
      MANIFEST_FILE,
      `rowCount is ${body.rowCount} but the segments hold ${owner.size} rows`,
    );
  }
  const ledger = new LedgerBook(body.ledger ?? [], (problem) =>
    corruptStoreError(root, MANIFEST_FILE, problem),
  );
  const head = await loadHead(root, body);
  checkHeadWeights(head?.weights, ledger, (problem) =>
    corruptStoreError(root, body.head?.file ?? MANIFEST_FILE, problem),
  );
  return { generation: body.generation, segments, erased, ledger, head };
}

/** Reads the head weights the manifest names, checking size and SHA-256. */
async function loadHead(root: string, body: ManifestBody): Promise<Head | undefined> {
  const entry = body.head;
  if (entry === undefined) return undefined;
  const fail = (problem: string) => corruptStoreError(root, entry.file, problem);
  let bytes: Buffer;
  try {
    bytes = await readFile(join(root, entry.file));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw fail(`missing (${MANIFEST_FILE} lists it)`);
    throw error;
  }
  if (bytes.length !== entry.bytes || entry.bytes !== body.d * 4) {
    throw fail(
      `${bytes.length} bytes, but ${MANIFEST_FILE} says ${entry.bytes} for d = ${body.d} float32 weights`,
    );
  }
  if (sha256Hex(bytes) !== entry.sha256) {
    throw fail(`checksum mismatch (the bytes were changed)`);
  }
  const weights = new Float32Array(body.d);
  decodeRows(bytes, 'float32', weights, 0);
  return { entry, weights };
}

async function loadSegmentIds(
  root: string,
  entry: SegmentEntry,
  body: ManifestBody,
): Promise<Int32Array> {
  const path = join(root, entry.file);
  const fail = (problem: string) => corruptStoreError(root, entry.file, problem);
  const size = await fileSize(path);
  if (size === undefined) throw fail(`missing (${MANIFEST_FILE} lists it)`);
  if (size !== entry.bytes) {
    throw fail(
      `${size} bytes, but ${MANIFEST_FILE} says ${entry.bytes} (truncated or overwritten)`,
    );
  }
  const idsEnd = SEGMENT_HEADER_BYTES + entry.rows * 4;
  const expectedBytes = idsEnd + entry.rows * body.d * bytesPerValue(body.dtype);
  if (entry.bytes !== expectedBytes) {
    throw fail(
      `${MANIFEST_FILE} says ${entry.bytes} bytes for ${entry.rows} rows, which take ${expectedBytes}`,
    );
  }
  const sha256 = await sha256OfFile(path);
  if (sha256 !== entry.sha256) {
    throw fail(
      `SHA-256 is ${sha256}, but ${MANIFEST_FILE} says ${entry.sha256} (checksum mismatch: the bytes were changed)`,
    );
  }
  const head = new Uint8Array(idsEnd);
  const handle = await open(path, 'r');
  try {
    await readFully(handle, head, 0, root, entry.file);
  } finally {
    await handle.close();
  }
  checkSegmentHeader(head, { rows: entry.rows, d: body.d, dtype: body.dtype }, fail);
  const view = new DataView(head.buffer);
  const ids = new Int32Array(entry.rows);
  for (let r = 0; r < entry.rows; r++) {
    ids[r] = view.getInt32(SEGMENT_HEADER_BYTES + r * 4, true);
    if (ids[r]! < 0 || (r > 0 && ids[r]! <= ids[r - 1]!)) {
      throw fail(`ids are not ascending non-negative integers (row ${r} holds ${ids[r]})`);
    }
  }
  return ids;
}

/**
 * Deletes what an interrupted commit left: temporary files, and segments the manifest no longer
 * names. The latter may hold erased rows (a crash between the commit and their removal), so
 * they are scrubbed, not just unlinked.
 */
async function removeLeftovers(root: string, body: ManifestBody): Promise<void> {
  const referenced = new Set(body.segments.map((s) => s.file));
  if (body.head !== undefined) referenced.add(body.head.file);
  const leftovers = (await readdir(root)).filter((f) => isStoreOwnedFile(f) && !referenced.has(f));
  for (const file of leftovers) {
    await scrubAndRemove(join(root, file));
  }
  if (leftovers.length > 0) await syncDirectory(root);
}
