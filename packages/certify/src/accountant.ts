// A log of certified releases and their composed privacy cost. Online unlearning releases after
// every request (one request id per release); batch unlearning once per batch (several ids).
import { LetheError } from '@lethe/core';
import {
  type CompositionState,
  CompositionTally,
  type GaussianReleaseCost,
} from './composition.js';
import { analyticGaussianDelta } from './gaussian-mechanism.js';
import { DEFAULT_RDP_ORDERS, validateOrders } from './rdp.js';
import {
  requireNonEmptyString,
  requireNonNegative,
  requireOpenUnit,
  requirePositive,
} from './validate.js';

export type ReleaseMode = 'online' | 'batch';

export interface ReleaseInput extends GaussianReleaseCost {
  mode: ReleaseMode;
  /** The deletion requests this release makes public (one in online mode). */
  requestIds: readonly string[];
}

export interface ReleaseRecord extends ReleaseInput {
  /** Position in the accountant's log, from 0. */
  index: number;
  requestIds: string[];
}

export interface AccountantState {
  format: 'lethe-privacy-accountant';
  version: 1;
  orders: number[];
  releases: ReleaseRecord[];
}

const FORMAT = 'lethe-privacy-accountant';

/** A saved state, parsed when it is a string; malformed JSON is an invalid argument. */
export function parseState<T>(where: string, state: T | string): T {
  if (typeof state !== 'string') return state;
  try {
    return JSON.parse(state) as T;
  } catch (error) {
    throw new LetheError(
      'invalid-argument',
      `${where}: the state is not valid JSON (${(error as Error).message}); pass the string JSON.stringify made of toJSON().`,
      { cause: error },
    );
  }
}

/** Checks a release on its own: shape, ranges, and that sigma certifies (epsilon, delta). */
export function validateRelease(where: string, input: ReleaseInput): void {
  if (
    input.mechanism !== undefined &&
    input.mechanism !== 'continuous-gaussian' &&
    input.mechanism !== 'discrete-gaussian'
  ) {
    throw new LetheError(
      'invalid-argument',
      `${where}: mechanism = ${JSON.stringify(input.mechanism)} is invalid; expected 'continuous-gaussian', 'discrete-gaussian' or none.`,
    );
  }
  if (input.mode !== 'online' && input.mode !== 'batch') {
    throw new LetheError(
      'invalid-argument',
      `${where}: mode = ${JSON.stringify(input.mode)} is invalid; expected 'online' or 'batch'.`,
    );
  }
  if (!Array.isArray(input.requestIds)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: requestIds must be an array of request id strings.`,
    );
  }
  if (input.mode === 'online' && input.requestIds.length !== 1) {
    throw new LetheError(
      'invalid-argument',
      `${where}: an online release covers exactly one request, got ${input.requestIds.length}; use mode 'batch' for several.`,
    );
  }
  if (input.mode === 'batch' && input.requestIds.length === 0) {
    throw new LetheError(
      'invalid-argument',
      `${where}: a batch release needs at least one request id; pass the ids of the requests it releases.`,
    );
  }
  for (const id of input.requestIds) requireNonEmptyString(where, 'requestId', id);
  if (new Set(input.requestIds).size !== input.requestIds.length) {
    throw new LetheError(
      'duplicate-id',
      `${where}: requestIds contains duplicates; list each request once.`,
    );
  }
  const sigma = requirePositive(where, 'sigma', input.sigma);
  const sensitivity = requireNonNegative(where, 'sensitivity', input.sensitivity);
  const epsilon = requirePositive(where, 'epsilon', input.epsilon);
  const delta = requireOpenUnit(where, 'delta', input.delta);
  const achieved = analyticGaussianDelta({ epsilon, sigma, sensitivity });
  if (!(achieved <= delta)) {
    throw new LetheError(
      'invalid-argument',
      `${where}: sigma = ${sigma} at sensitivity ${sensitivity} gives delta = ${achieved} > ${delta} at epsilon = ${epsilon}; calibrate sigma with analyticGaussianSigma.`,
    );
  }
}

export class PrivacyAccountant {
  readonly orders: readonly number[];
  private readonly log: ReleaseRecord[] = [];
  private readonly tally = CompositionTally.empty();
  private readonly released = new Map<string, number>();

  constructor(options: { orders?: readonly number[] } = {}) {
    this.orders = validateOrders(options.orders ?? DEFAULT_RDP_ORDERS);
  }

  get releases(): readonly ReleaseRecord[] {
    return this.log;
  }

  /** Checks that `input` could be recorded, without recording it. */
  validate(input: ReleaseInput): void {
    validateRelease('PrivacyAccountant.record', input);
    for (const id of input.requestIds) {
      const earlier = this.released.get(id);
      if (earlier !== undefined) {
        throw new LetheError(
          'duplicate-id',
          `PrivacyAccountant.record: request ${JSON.stringify(id)} was already released in release ${earlier}; each request is released once.`,
        );
      }
    }
  }

  /** Adds a release to the log (throws, recording nothing, if it is invalid). */
  record(input: ReleaseInput): ReleaseRecord {
    this.validate(input);
    const record: ReleaseRecord = {
      index: this.log.length,
      mode: input.mode,
      requestIds: [...input.requestIds],
      sigma: input.sigma,
      sensitivity: input.sensitivity,
      epsilon: input.epsilon,
      delta: input.delta,
      ...(input.mechanism === undefined ? {} : { mechanism: input.mechanism }),
    };
    this.log.push(record);
    this.tally.add(record);
    for (const id of record.requestIds) this.released.set(id, record.index);
    return { ...record, requestIds: [...record.requestIds] };
  }

  /** The composed cost of the first `releases` releases (all by default). */
  composition(releases: number = this.log.length): CompositionState {
    if (releases === this.log.length) return this.tally.state(this.orders);
    if (!Number.isInteger(releases) || releases < 0 || releases > this.log.length) {
      throw new LetheError(
        'invalid-argument',
        `PrivacyAccountant.composition: releases = ${releases} is invalid; expected an integer in [0, ${this.log.length}].`,
      );
    }
    const prefix = CompositionTally.empty();
    for (const record of this.log.slice(0, releases)) prefix.add(record);
    return prefix.state(this.orders);
  }

  /** A copy of the running totals, for what-if questions (budget checks, capacity). */
  tallySnapshot(): CompositionTally {
    return this.tally.clone();
  }

  toJSON(): AccountantState {
    return {
      format: FORMAT,
      version: 1,
      orders: [...this.orders],
      releases: this.log.map((r) => ({ ...r, requestIds: [...r.requestIds] })),
    };
  }

  /** Rebuilds an accountant by replaying the log, so totals come out bit for bit the same. */
  static fromJSON(state: AccountantState | string): PrivacyAccountant {
    const parsed = parseState<AccountantState>('PrivacyAccountant.fromJSON', state);
    if (parsed?.format !== FORMAT || parsed.version !== 1 || !Array.isArray(parsed.releases)) {
      throw new LetheError(
        'invalid-argument',
        `PrivacyAccountant.fromJSON: expected format '${FORMAT}' version 1 with a releases array, got ${JSON.stringify(parsed?.format)} version ${JSON.stringify(parsed?.version)}; pass what PrivacyAccountant.toJSON() returned.`,
      );
    }
    const accountant = new PrivacyAccountant({ orders: parsed.orders });
    parsed.releases.forEach((record, i) => {
      if (record.index !== i) {
        throw new LetheError(
          'invalid-argument',
          `PrivacyAccountant.fromJSON: release at position ${i} has index ${record.index}; the state was edited or spliced. Restore the saved state as toJSON() wrote it.`,
        );
      }
      accountant.record(record);
    });
    return accountant;
  }
}
