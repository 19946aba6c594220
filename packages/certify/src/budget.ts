// A privacy budget over a sequence of certified releases. When the next release would not fit,
// the model must be retrained from scratch on the remaining data instead of unlearned.

import { LetheError } from '@lethe/core';
import {
  type AccountantState,
  PrivacyAccountant,
  parseState,
  type ReleaseInput,
  type ReleaseRecord,
} from './accountant.js';
import {
  type CompositionMethod,
  type FitResult,
  fitsWithin,
  type PrivacySpend,
} from './composition.js';
import { requireOpenUnit, requirePositive } from './validate.js';

export interface BudgetLimit {
  epsilon: number;
  delta: number;
}

export interface BudgetOptions {
  /**
   * 'basic' sums, 'rdp' Renyi composition, 'gdp' Gaussian differential privacy (exact for
   * continuous Gaussian releases; Renyi for the others), 'best' the tightest that applies
   * (default).
   */
  composition?: CompositionMethod;
  /** An accountant that already holds earlier releases (default: a new, empty one). */
  accountant?: PrivacyAccountant;
  /** Called once, when a release is refused because it would exceed the budget. */
  onRetrainNeeded?: (reason: string) => void;
}

export interface BudgetState {
  format: 'lethe-privacy-budget';
  version: 1;
  limit: BudgetLimit;
  composition: CompositionMethod;
  retrainNeeded: boolean;
  accountant: AccountantState;
}

export class BudgetExceededError extends LetheError<'budget-exceeded'> {
  constructor(
    message: string,
    readonly spentAfter: PrivacySpend,
  ) {
    super('budget-exceeded', message);
    this.name = 'BudgetExceededError';
  }
}

export class PrivacyBudget {
  readonly limit: Readonly<BudgetLimit>;
  readonly composition: CompositionMethod;
  readonly accountant: PrivacyAccountant;
  private retrainNeeded = false;
  private readonly onRetrainNeeded: ((reason: string) => void) | undefined;

  constructor(limit: BudgetLimit, options: BudgetOptions = {}) {
    this.limit = Object.freeze({
      epsilon: requirePositive('PrivacyBudget', 'epsilon', limit.epsilon),
      delta: requireOpenUnit('PrivacyBudget', 'delta', limit.delta),
    });
    const composition = options.composition ?? 'best';
    if (!['basic', 'rdp', 'gdp', 'best'].includes(composition)) {
      throw new LetheError(
        'invalid-argument',
        `PrivacyBudget: composition = ${JSON.stringify(composition)} is invalid; expected 'basic', 'rdp', 'gdp' or 'best'.`,
      );
    }
    this.composition = composition;
    this.accountant = options.accountant ?? new PrivacyAccountant();
    this.onRetrainNeeded = options.onRetrainNeeded;
  }

  /** What the releases so far cost, by the account that is tightest for this budget. */
  spent(): FitResult {
    return fitsWithin(
      this.accountant.tallySnapshot(),
      this.limit,
      this.composition,
      this.accountant.orders,
    );
  }

  /** What the spend would be with `next` added, and whether it still fits. */
  check(next: ReleaseInput): FitResult {
    this.accountant.validate(next);
    const tally = this.accountant.tallySnapshot();
    tally.add(next);
    return fitsWithin(tally, this.limit, this.composition, this.accountant.orders);
  }

  /** Whether certifying `next` would exceed the budget. */
  wouldExceed(next: ReleaseInput): boolean {
    return !this.check(next).fits;
  }

  /** Records `next` if it fits; otherwise flags that a retrain is needed and throws. */
  record(next: ReleaseInput): ReleaseRecord {
    const result = this.check(next);
    if (!result.fits) {
      const reason = `release would spend (epsilon ${result.spent.epsilon}, delta ${result.spent.delta}) by ${result.method} composition, over the budget (${this.limit.epsilon}, ${this.limit.delta}); retrain on the remaining data instead.`;
      this.flagRetrain(reason);
      throw new BudgetExceededError(`PrivacyBudget.record: ${reason}`, result.spent);
    }
    return this.accountant.record(next);
  }

  /**
   * True once a release has been refused. With `next`, answers for that release instead (and
   * raises the flag, signalling, if it does not fit).
   */
  retrainNow(next?: ReleaseInput): boolean {
    if (next !== undefined) {
      const result = this.check(next);
      if (!result.fits) this.flagRetrain('the next release does not fit the budget');
      return !result.fits;
    }
    return this.retrainNeeded;
  }

  private flagRetrain(reason: string): void {
    if (this.retrainNeeded) return;
    this.retrainNeeded = true;
    this.onRetrainNeeded?.(reason);
  }

  toJSON(): BudgetState {
    return {
      format: 'lethe-privacy-budget',
      version: 1,
      limit: { ...this.limit },
      composition: this.composition,
      retrainNeeded: this.retrainNeeded,
      accountant: this.accountant.toJSON(),
    };
  }

  static fromJSON(
    state: BudgetState | string,
    options: { onRetrainNeeded?: (reason: string) => void } = {},
  ): PrivacyBudget {
    const parsed = parseState<BudgetState>('PrivacyBudget.fromJSON', state);
    if (parsed?.format !== 'lethe-privacy-budget' || parsed.version !== 1) {
      throw new LetheError(
        'invalid-argument',
        `PrivacyBudget.fromJSON: expected format 'lethe-privacy-budget' version 1, got ${JSON.stringify(parsed?.format)}; pass what PrivacyBudget.toJSON() returned.`,
      );
    }
    const budget = new PrivacyBudget(parsed.limit, {
      composition: parsed.composition,
      accountant: PrivacyAccountant.fromJSON(parsed.accountant),
      ...(options.onRetrainNeeded ? { onRetrainNeeded: options.onRetrainNeeded } : {}),
    });
    budget.retrainNeeded = parsed.retrainNeeded === true;
    return budget;
  }
}
