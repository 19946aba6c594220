// The adapter kit: what an ApproximatorStore adapter in another package shares with the memory
// and file stores, so that every adapter rejects the same input with the same StoreError and
// keeps rows at rest in the same encoding. describeStoreConformance checks the result. Each
// export's doc comment says where an adapter calls it.

export { storeIoError } from './errors.js';
export { decodeFloat16, encodeFloat16, FLOAT16_MAX, roundToFloat16 } from './float16.js';
export { checkHeadWeights, LedgerBook } from './ledger.js';
export { bytesPerValue, decodeRows, encodeRows } from './row-codec.js';
export {
  MAX_STORE_ID,
  requireLiveIds,
  requireNotErasedIds,
  type StoreIdState,
  validateBlockRange,
  validateId,
  validateIdentity,
  validateIds,
  validateRows,
  validateWrite,
} from './validate.js';
