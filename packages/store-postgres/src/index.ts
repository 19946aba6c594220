export type { PgClientLike, PgPoolLike, Query, SqlDriver } from './driver.js';
// The driver interface is shared with applications that keep their own tables beside the store
// (apps/server's system of record), so that both run the same SQL through one abstraction.
export { pgDriver, pgliteDriver } from './driver.js';
export type {
  OpenPostgresStoreOptions,
  PostgresApproximatorStore,
  PostgresTarget,
} from './open-postgres-store.js';
export { openPostgresStore, PGLITE_START_PARAMS } from './open-postgres-store.js';
export type { ErasureMode } from './postgres-store.js';
export { POSTGRES_FORMAT_VERSION } from './schema.js';
