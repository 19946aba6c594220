export type StoreErrorCode =
  | 'invalid-argument'
  | 'invalid-rows'
  | 'unknown-id'
  | 'erased-id'
  | 'manifest-mismatch'
  | 'corrupt-store'
  | 'not-found'
  | 'locked'
  | 'closed'
  | 'io';

/** Every error a store raises; `code` lets callers branch without parsing the message. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}
