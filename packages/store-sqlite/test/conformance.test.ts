import { describeStoreConformance } from '@lethe/store/conformance';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.js';
import { filesOf, tempDb } from './helpers.js';

describeStoreConformance(
  'sqlite',
  async (id) => {
    const { path, remove } = await tempDb();
    return {
      store: await openSqliteStore(path, id, { create: true }),
      reopen: () => openSqliteStore(path, id),
      // The database file and its write-ahead log (and -shm/-journal, were there any).
      persistedBytes: async () => [...(await filesOf(path)).values()],
      dispose: remove,
    };
  },
  { describe, it, expect },
  { persistent: true },
);

// Again with the smallest pages, so that rows overflow onto chains of pages and every call
// splits, merges and frees pages; and without the full check at open.
describeStoreConformance(
  'sqlite, 512-byte pages, no verify',
  async (id) => {
    const { path, remove } = await tempDb();
    const options = { pageSize: 512, verify: false };
    return {
      store: await openSqliteStore(path, id, { ...options, create: true }),
      reopen: () => openSqliteStore(path, id, options),
      persistedBytes: async () => [...(await filesOf(path)).values()],
      dispose: remove,
    };
  },
  { describe, it, expect },
  { persistent: true },
);
