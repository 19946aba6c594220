// The adapter kit, for ApproximatorStore adapters in other packages; adapter-kit.ts lists it.
export * from './adapter-kit.js';
export type {
  ConformanceAssertion,
  ConformanceFactory,
  ConformanceHarness,
  ConformanceOptions,
  ConformanceTestApi,
} from './conformance.js';
export { describeStoreConformance } from './conformance.js';
export type { StoreErrorCode } from './errors.js';
export { StoreError } from './errors.js';
export type { OpenFileStoreOptions } from './file-store/open-file-store.js';
export { openFileStore } from './file-store/open-file-store.js';
export { FLOAT16_MAX, roundToFloat16 } from './float16.js';
export { assertManifestMatches } from './manifest-match.js';
export { createMemoryStore } from './memory-store.js';
export type {
  ApproximatorStore,
  RowBlock,
  StoreDType,
  StoreIdentity,
  StoreManifest,
} from './types.js';
