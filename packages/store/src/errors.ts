import { LetheError, type LetheErrorCode } from '@lethe/core';

/** The codes a store raises: a subset of LetheErrorCode. */
export type StoreErrorCode = Extract<
  LetheErrorCode,
  | 'invalid-argument'
  | 'invalid-rows'
  | 'unknown-id'
  | 'erased-id'
  | 'manifest-mismatch'
  | 'corrupt-store'
  | 'not-found'
  | 'already-forgotten'
  | 'duplicate-request'
  | 'ledger-conflict'
  | 'locked'
  | 'closed'
  | 'io'
>;

/**
 * Every error a store raises; `code` lets callers branch without parsing the message. A
 * LetheError like every error of Lethe (`err instanceof LetheError` holds).
 */
export class StoreError extends LetheError<StoreErrorCode> {
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

const IO_FIXES: Record<string, string> = {
  ENOSPC: 'the disk is full; free space and retry',
  EDQUOT: 'the disk quota is used up; free space and retry',
  EACCES: 'this process may not access it; fix the permissions or open the store as its owner',
  EPERM: 'this process may not access it; fix the permissions or open the store as its owner',
  EROFS: 'the file system is read-only; keep the store on a writable one',
  ENOTDIR: 'a part of the path is a file, not a directory; check the path',
  EISDIR: 'the path is a directory where a file belongs; check the path',
  EMFILE: 'the process has too many open files; close other stores or raise the limit',
};

/**
 * Turns an error of Node's file system (it has a `code` like 'ENOSPC' and a `syscall`) met while
 * `op` worked on the store at `path` into a StoreError with code 'io' that names the operation,
 * the path, the system's message and the fix. Other errors pass through unchanged: StoreErrors
 * already say what is wrong, and anything else is a bug that should not look like an I/O
 * failure. An adapter on files calls it where it catches what its file operations throw.
 */
export function storeIoError(op: string, path: string, error: unknown): unknown {
  if (error instanceof StoreError || !isSystemError(error)) return error;
  const fix = IO_FIXES[error.code] ?? 'check the path, its permissions and the disk';
  return new StoreError('io', `${op}: approximator store ${path}: ${error.message}; ${fix}.`, {
    cause: error,
  });
}

/** An error of Node's file system or another system call. */
export function isSystemError(
  error: unknown,
): error is Error & { code: string; syscall: string; path?: string } {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { syscall?: unknown }).syscall === 'string'
  );
}
