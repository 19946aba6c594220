// Public API of @lethe/store: the store interface and the adapters users open. Adapter authors
// import the adapter kit from '@lethe/store/adapter-kit' and the conformance suite from
// '@lethe/store/conformance'.
export { StoreError, type StoreErrorCode } from './errors.js';
export { type OpenFileStoreOptions, openFileStore } from './file-store/open-file-store.js';
export { assertManifestMatches } from './manifest-match.js';
export { createMemoryStore } from './memory-store.js';
export type {
  ApproximatorStore,
  DeletionCommit,
  DeletionEntry,
  LedgerRelease,
  RowBlock,
  StoreDType,
  StoreIdentity,
  StoreManifest,
} from './types.js';
