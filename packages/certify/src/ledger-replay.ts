// Rebuilds the accountant from a store's deletion ledger (@lethe/store's DeletionEntry, taken
// structurally so that certify does not depend on the store). The ledger records each release's
// cost in the same commit as its deletion, so after a crash the replayed accountant has spent
// exactly what was published, no more and no less.
import { LetheError } from '@lethe/core';
import { PrivacyAccountant, type ReleaseInput } from './accountant.js';

/** What the replay reads of a ledger entry. */
export interface LedgerEntryWithRelease {
  readonly request: number;
  readonly release?: ReleaseInput;
}

/** An accountant holding the releases of `entries`, in ledger order. */
export function accountantFromLedger(
  entries: readonly LedgerEntryWithRelease[],
  options: { orders?: readonly number[] } = {},
): PrivacyAccountant {
  if (!Array.isArray(entries)) {
    throw new LetheError(
      'invalid-argument',
      'accountantFromLedger: entries must be an array: pass await store.deletions().',
    );
  }
  const accountant = new PrivacyAccountant(options);
  entries.forEach((entry, i) => {
    if (entry?.request !== i) {
      throw new LetheError(
        'invalid-argument',
        `accountantFromLedger: entry ${i} has request ${String(entry?.request)}; pass the whole ledger, oldest first, as deletions() returns it.`,
      );
    }
    // record() validates each release as when it was first recorded.
    if (entry.release !== undefined) accountant.record(entry.release);
  });
  return accountant;
}
