export type { PgClientLike, PgPoolLike } from './driver.js';
export type { OpenPostgresStoreOptions, PostgresTarget } from './open-postgres-store.js';
export { openPostgresStore } from './open-postgres-store.js';
export type { ErasureMode } from './postgres-store.js';
export { POSTGRES_FORMAT_VERSION } from './schema.js';
