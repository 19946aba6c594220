import { describeStoreConformance } from '@lethe/store/conformance';
import { serverPresent, startServer, type TestServer } from '@lethe/vitest-config/postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/index.js';
import { filesUnder, tempDataDir } from './helpers.js';

// Embedded PGlite: every file of the data directory is what the store keeps at rest (heap and
// index files, the WAL, the catalogs), and an erased row must appear in none of them.
describeStoreConformance(
  'postgres (PGlite)',
  async (id) => {
    const { dataDir, remove } = await tempDataDir();
    return {
      store: await openPostgresStore({ dataDir }, id, { create: true }),
      reopen: () => openPostgresStore({ dataDir }, id),
      persistedBytes: async () => [...(await filesUnder(dataDir)).values()],
      dispose: remove,
    };
  },
  { describe, it, expect },
  { persistent: true },
);

// A real server (Debian's postgresql package), through node-postgres: every file of the server's
// data directory is what it keeps at rest. The server runs with wal_recycle = off and the store
// with scrubWal, as the README tells an operator to for this guarantee.
describe.skipIf(!serverPresent)('postgres server (apt package postgresql)', () => {
  let server: TestServer;
  let databases = 0;
  beforeAll(async () => {
    server = await startServer({ wal_recycle: 'off' });
  });
  afterAll(() => server?.stop());

  describeStoreConformance(
    'postgres (server)',
    async (id) => {
      const database = `conformance_${++databases}`;
      const admin = await server.client();
      await admin.query(`CREATE DATABASE ${database}`);
      const client = await server.client(database);
      const options = { scrubWal: true };
      return {
        store: await openPostgresStore({ client }, id, { ...options, create: true }),
        reopen: () => openPostgresStore({ client }, id, options),
        persistedBytes: async () => [...(await filesUnder(server.dataDir)).values()],
        dispose: async () => {
          await client.end();
          await admin.query(`DROP DATABASE ${database}`);
          await admin.end();
        },
      };
    },
    { describe, it, expect },
    { persistent: true },
  );
});
