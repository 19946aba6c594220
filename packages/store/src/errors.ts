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
