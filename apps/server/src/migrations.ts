// The service's tables, versioned: migration k takes the schema from version k - 1 to k in one
// transaction that also records k. A database written by a newer version is refused.
import { LetheError } from '@lethe/core';
import type { Db } from './db.js';

export const SERVICE_SCHEMA = 'lethe_service';
const S = SERVICE_SCHEMA;

/** One entry per schema version; each is a list of statements run in one transaction. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    // API tokens: only the SHA-256 of a token is kept. Scopes: submit, read-own, read-weights, admin.
    `CREATE TABLE ${S}.tokens (
      id serial PRIMARY KEY,
      name text NOT NULL,
      hash text NOT NULL UNIQUE,
      scopes text[] NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz
    )`,
    // Data-subject key -> sample id.
    `CREATE TABLE ${S}.subjects (
      key text PRIMARY KEY,
      sample_id integer NOT NULL CHECK (sample_id >= 0)
    )`,
    // Service facts: whether the approximators were computed completely, and the like.
    `CREATE TABLE ${S}.meta (key text PRIMARY KEY, value text NOT NULL)`,
    `CREATE INDEX subjects_sample ON ${S}.subjects (sample_id)`,
    // The request ledger. state: accepted -> done ('applying' was written by earlier versions;
    // a reader now sees it for the requests of the application under way). ids: the samples it names that
    // the service will forget (empty when it names none: an unknown subject key, or samples
    // already forgotten). application: the store commit that applied it.
    `CREATE TABLE ${S}.requests (
      seq bigserial PRIMARY KEY,
      id text NOT NULL UNIQUE,
      token_id integer NOT NULL REFERENCES ${S}.tokens (id),
      idempotency_key text NOT NULL,
      body_sha256 text NOT NULL,
      subject_keys text[] NOT NULL,
      sample_ids integer[] NOT NULL,
      unknown integer NOT NULL DEFAULT 0,
      state text NOT NULL CHECK (state IN ('accepted', 'applying', 'done')),
      application integer,
      accepted_at timestamptz NOT NULL DEFAULT now(),
      done_at timestamptz,
      UNIQUE (token_id, idempotency_key)
    )`,
    `CREATE INDEX requests_state ON ${S}.requests (state, seq)`,
    // An application: a set of requests applied in one store commit (deletion ledger entry
    // requestId 'application-<id>') and published by one certified release. Written as
    // 'pending', with the release already computed, before the store commit; 'committed' once
    // the store's ledger holds it. A pending application whose entry is not in the store's
    // ledger after a crash never happened (its release was never published).
    `CREATE TABLE ${S}.applications (
      id serial PRIMARY KEY,
      state text NOT NULL CHECK (state IN ('pending', 'committed')),
      request_seqs bigint[] NOT NULL,
      sample_ids integer[] NOT NULL,
      ledger_request integer NOT NULL,
      weights bytea NOT NULL,
      weights_sha256 text NOT NULL,
      certificate jsonb NOT NULL,
      epsilon double precision NOT NULL,
      delta double precision NOT NULL,
      sigma double precision NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      committed_at timestamptz
    )`,
  ],
];

export const SERVICE_SCHEMA_VERSION = MIGRATIONS.length;

/** Applies the migrations the database lacks; refuses one newer than this code. */
export async function migrate(db: Db): Promise<number> {
  await db.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${S}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  const [row] = await db.query<{ v: number | null }>(
    `SELECT max(version) AS v FROM ${S}.migrations`,
  );
  const current = row?.v ?? 0;
  if (current > SERVICE_SCHEMA_VERSION) {
    throw new LetheError(
      'mismatch',
      `lethe-server: the database ${db.where} has service schema version ${current}, written by a newer @lethe/server (this one knows ${SERVICE_SCHEMA_VERSION}); run the newer server or restore a backup.`,
    );
  }
  for (let v = current + 1; v <= SERVICE_SCHEMA_VERSION; v++) {
    await db.transaction(async (q) => {
      for (const sql of MIGRATIONS[v - 1]!) await q(sql);
      await q(`INSERT INTO ${S}.migrations (version) VALUES ($1)`, [v]);
    });
  }
  return SERVICE_SCHEMA_VERSION;
}
