// Bearer tokens: 32 random bytes, shown once; the database keeps only their SHA-256.
import { createHash, randomBytes } from 'node:crypto';
import { LetheError } from '@lethe/core';
import type { Db } from './db.js';
import { SERVICE_SCHEMA as S } from './migrations.js';

export const SCOPES = ['submit', 'read-own', 'read-weights', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface Caller {
  readonly tokenId: number;
  readonly name: string;
  readonly scopes: ReadonlySet<Scope>;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(): string {
  return `lethe_${randomBytes(32).toString('base64url')}`;
}

export function validateScopes(scopes: readonly string[]): Scope[] {
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s)) {
      throw new LetheError(
        'invalid-argument',
        `unknown scope ${JSON.stringify(s)}; scopes are ${SCOPES.join(', ')}.`,
      );
    }
  }
  return [...new Set(scopes)] as Scope[];
}

/** Records a token (its hash) with `scopes`; returns its id. An existing hash keeps its row. */
export async function addToken(
  db: Db,
  token: string,
  name: string,
  scopes: readonly Scope[],
): Promise<number> {
  const [row] = await db.query<{ id: number }>(
    `INSERT INTO ${S}.tokens (name, hash, scopes) VALUES ($1, $2, $3)
     ON CONFLICT (hash) DO UPDATE SET scopes = EXCLUDED.scopes, revoked_at = NULL RETURNING id`,
    [name, hashToken(token), scopes],
  );
  return row!.id;
}

/**
 * Known tokens, by hash, for a few seconds: a lookup per request would be a database round trip
 * on every acknowledgement. A token revoked in the database stops working within CACHE_MS.
 */
const CACHE_MS = 5000;
const cache = new WeakMap<Db, Map<string, { caller: Caller; until: number }>>();

/** The caller a bearer token stands for, or undefined (unknown or revoked). */
export async function authenticate(db: Db, token: string): Promise<Caller | undefined> {
  const hash = hashToken(token);
  let known = cache.get(db);
  if (known === undefined) {
    known = new Map();
    cache.set(db, known);
  }
  const hit = known.get(hash);
  if (hit !== undefined && hit.until > Date.now()) return hit.caller;
  const caller = await lookup(db, hash);
  if (caller === undefined) known.delete(hash);
  else {
    if (known.size > 10_000) known.clear();
    known.set(hash, { caller, until: Date.now() + CACHE_MS });
  }
  return caller;
}

async function lookup(db: Db, hash: string): Promise<Caller | undefined> {
  const [row] = await db.query<{ id: number; name: string; scopes: string[] }>(
    `SELECT id, name, scopes FROM ${S}.tokens WHERE hash = $1 AND revoked_at IS NULL`,
    [hash],
  );
  if (row === undefined) return undefined;
  return { tokenId: row.id, name: row.name, scopes: new Set(row.scopes as Scope[]) };
}
