export type { OpenSqliteStoreOptions } from './open-sqlite-store.js';
export { openSqliteStore } from './open-sqlite-store.js';
export { SQLITE_FORMAT_VERSION } from './schema.js';
