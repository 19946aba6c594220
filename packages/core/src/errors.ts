/**
 * What went wrong, as a code callers can branch on without parsing messages. Every package
 * throws LetheError (or a subclass that narrows the code, like the store's StoreError); the
 * message names the problem and the fix.
 */
export type LetheErrorCode =
  | 'invalid-argument'
  | 'shape-mismatch'
  | 'non-finite'
  | 'unknown-id'
  | 'duplicate-id'
  | 'already-forgotten'
  | 'duplicate-request'
  | 'ledger-conflict'
  | 'mismatch'
  | 'unsupported'
  | 'budget-exceeded'
  | 'not-converged'
  | 'invalid-rows'
  | 'erased-id'
  | 'manifest-mismatch'
  | 'corrupt-store'
  | 'not-found'
  | 'locked'
  | 'closed'
  | 'io'
  | 'invalid-file'
  | 'worker-failed';

export class LetheError<Code extends LetheErrorCode = LetheErrorCode> extends Error {
  readonly code: Code;

  constructor(code: Code, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LetheError';
    this.code = code;
  }
}

/** True for a LetheError, optionally of one code: `isLetheError(err, 'unknown-id')`. */
export function isLetheError<Code extends LetheErrorCode>(
  err: unknown,
  code?: Code,
): err is LetheError<Code> {
  return err instanceof LetheError && (code === undefined || err.code === code);
}
