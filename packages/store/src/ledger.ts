// The deletion ledger's rules, shared by every adapter so that each refuses the same commit
// with the same StoreError. An adapter keeps a LedgerBook beside its rows: `prepare` checks a
// commit against the ledger and returns the entry to write; after the adapter's own atomic
// commit, `append` records it in memory.
import { weightsSha256 } from '@lethe/core';
import { StoreError } from './errors.js';
import type { DeletionCommit, DeletionEntry, LedgerRelease } from './types.js';
import { validateIds } from './validate.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export class LedgerBook {
  readonly #entries: DeletionEntry[] = [];
  readonly #forgottenBy = new Map<number, number>();
  readonly #requestIds = new Map<string, number>();

  /** `entries` as read back from storage; each is checked, and the chain between them. */
  constructor(entries: readonly unknown[], fail: (problem: string) => StoreError) {
    for (const value of entries) {
      const entry = parseDeletionEntry(value, fail);
      const last = this.#entries.at(-1);
      if (entry.request !== this.#entries.length) {
        throw fail(`ledger entry ${this.#entries.length} has request ${entry.request}`);
      }
      if (last !== undefined && entry.weightsBeforeSha256 !== last.weightsSha256) {
        throw fail(
          `ledger entry ${entry.request} does not start from entry ${last.request}'s weights`,
        );
      }
      if (
        this.#requestIds.has(entry.requestId) ||
        entry.ids.some((id) => this.#forgottenBy.has(id))
      ) {
        throw fail(`ledger entry ${entry.request} repeats a request id or a forgotten sample`);
      }
      this.append(entry);
    }
  }

  get entries(): readonly DeletionEntry[] {
    return this.#entries;
  }

  /** The SHA-256 the head weights must have, or undefined before the first deletion. */
  get headSha256(): string | undefined {
    return this.#entries.at(-1)?.weightsSha256;
  }

  /**
   * Checks `commit` (shape, d, finiteness, its place in the ledger) and returns the entry it
   * appends and the ids to erase; nothing changes. Liveness of the rows to erase is the
   * adapter's check (requireLiveIds), as for erase.
   */
  prepare(
    commit: DeletionCommit,
    d: number,
    now: Date = new Date(),
  ): { entry: DeletionEntry; erase: Int32Array } {
    const where = 'commitDeletion';
    if (typeof commit !== 'object' || commit === null) {
      throw invalid(
        `expected { request, requestId, ids, mode, weights, weightsBeforeSha256, erase }, got ${String(commit)}`,
      );
    }
    if (typeof commit.requestId !== 'string' || commit.requestId.length === 0) {
      throw invalid('requestId must be a non-empty string naming the deletion request');
    }
    if (typeof commit.mode !== 'string' || commit.mode.length === 0) {
      throw invalid("mode must be a non-empty string (e.g. 'online' or 'batch')");
    }
    // No ids: a change of the weights that forgets nothing new (a second-order refinement).
    const ids = validateIds(where, commit.ids);
    const erase = validateIds(where, commit.erase);
    const inRequest = new Set(ids);
    const stray = erase.find((id) => !inRequest.has(id));
    if (stray !== undefined) {
      throw invalid(`erase lists ${stray}, which is not among the ids this deletion forgets`);
    }
    const { weights } = commit;
    if (!(weights instanceof Float32Array) || weights.length !== d) {
      throw invalid(
        `weights must be a Float32Array of length d = ${d} (the weights after the deletion), got ${describe(weights)}`,
      );
    }
    const bad = weights.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new StoreError(
        'invalid-rows',
        `${where}: weights[${bad}] is ${weights[bad]}; commit only the finite weights the deletion produced.`,
      );
    }
    if (
      typeof commit.weightsBeforeSha256 !== 'string' ||
      !SHA256_HEX.test(commit.weightsBeforeSha256)
    ) {
      throw invalid(
        'weightsBeforeSha256 must be 64 lowercase hex digits (weightsSha256 of the weights before)',
      );
    }
    if (commit.release !== undefined) checkRelease(commit.release, invalid);
    // The ledger's own rules, after the shape: these say the commit is stale or repeated.
    if (commit.request !== this.#entries.length) {
      throw new StoreError(
        'ledger-conflict',
        `${where}: the commit expects to be request ${String(commit.request)}, but the ledger holds ${this.#entries.length} deletions; another writer committed in between. Reopen, read deletions() and prepare the request again.`,
      );
    }
    const head = this.headSha256;
    if (head !== undefined && commit.weightsBeforeSha256 !== head) {
      throw new StoreError(
        'ledger-conflict',
        `${where}: the deletion was applied to weights other than the ledger's head (sha256 ${head.slice(0, 12)}...); apply it to headWeights() instead.`,
      );
    }
    const earlier = this.#requestIds.get(commit.requestId);
    if (earlier !== undefined) {
      throw new StoreError(
        'duplicate-request',
        `${where}: request ${JSON.stringify(commit.requestId)} was already committed as ledger entry ${earlier}; it is not applied twice.`,
      );
    }
    for (const id of ids) {
      const by = this.#forgottenBy.get(id);
      if (by !== undefined) {
        throw new StoreError(
          'already-forgotten',
          `${where}: sample ${id} was already forgotten by ledger entry ${by}; a deletion cannot be applied twice.`,
        );
      }
    }
    const entry: DeletionEntry = {
      request: commit.request,
      requestId: commit.requestId,
      ids: Array.from(ids),
      mode: commit.mode,
      weightsBeforeSha256: commit.weightsBeforeSha256,
      weightsSha256: weightsSha256(weights),
      ...(commit.release === undefined ? {} : { release: copyRelease(commit.release) }),
      committedAt: now.toISOString(),
    };
    return { entry, erase };
  }

  /** Records an entry the adapter has made durable. */
  append(entry: DeletionEntry): void {
    this.#entries.push(entry);
    this.#requestIds.set(entry.requestId, entry.request);
    for (const id of entry.ids) this.#forgottenBy.set(id, entry.request);
  }
}

/** Checks stored head weights against the ledger's last entry. */
export function checkHeadWeights(
  weights: Float32Array | undefined,
  book: LedgerBook,
  fail: (problem: string) => StoreError,
): void {
  const want = book.headSha256;
  if (want === undefined) {
    if (weights !== undefined) throw fail('head weights are stored but the ledger is empty');
    return;
  }
  if (weights === undefined)
    throw fail(`the ledger holds ${book.entries.length} deletions but no head weights`);
  if (weightsSha256(weights) !== want) {
    throw fail("the head weights' SHA-256 differs from the last ledger entry's");
  }
}

function invalid(problem: string): StoreError {
  return new StoreError('invalid-argument', `commitDeletion: ${problem}.`);
}

function describe(value: unknown): string {
  if (value instanceof Float32Array) return `a Float32Array of length ${value.length}`;
  return value === null ? 'null' : (value?.constructor?.name ?? typeof value);
}

function checkRelease(release: LedgerRelease, fail: (problem: string) => StoreError): void {
  const ok =
    typeof release === 'object' &&
    release !== null &&
    (release.mode === 'online' || release.mode === 'batch') &&
    Array.isArray(release.requestIds) &&
    release.requestIds.every((id) => typeof id === 'string') &&
    [release.sigma, release.sensitivity, release.epsilon, release.delta].every(
      (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0,
    );
  if (!ok) {
    throw fail(
      'release must be { mode, requestIds, sigma, sensitivity, epsilon, delta } with finite non-negative numbers (the record certifiedRelease returns)',
    );
  }
}

function copyRelease(release: LedgerRelease): LedgerRelease {
  return {
    mode: release.mode,
    requestIds: [...release.requestIds],
    sigma: release.sigma,
    sensitivity: release.sensitivity,
    epsilon: release.epsilon,
    delta: release.delta,
  };
}

/** An entry read back from storage (JSON), checked field by field. */
function parseDeletionEntry(value: unknown, fail: (problem: string) => StoreError): DeletionEntry {
  const e = value as Record<string, unknown> | null;
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const ok =
    typeof e === 'object' &&
    e !== null &&
    isCount(e.request) &&
    typeof e.requestId === 'string' &&
    e.requestId.length > 0 &&
    Array.isArray(e.ids) &&
    e.ids.every(isCount) &&
    typeof e.mode === 'string' &&
    typeof e.weightsBeforeSha256 === 'string' &&
    SHA256_HEX.test(e.weightsBeforeSha256) &&
    typeof e.weightsSha256 === 'string' &&
    SHA256_HEX.test(e.weightsSha256) &&
    typeof e.committedAt === 'string';
  if (!ok) throw fail(`ledger entry ${JSON.stringify(value)?.slice(0, 200)} is malformed`);
  if (e.release !== undefined) checkRelease(e.release as LedgerRelease, fail);
  return e as unknown as DeletionEntry;
}
