// Running totals over Gaussian releases, shared by the accountant, the budget and the capacity
// calculator so that all three account identically (docs/method.md#composition).
import { rdpToEpsilon } from './rdp.js';

/** Neumaier's compensated sum: the totals do not drift with the number of releases. */
class CompensatedSum {
  constructor(
    private sum = 0,
    private compensation = 0,
  ) {}

  add(x: number): void {
    const t = this.sum + x;
    this.compensation += Math.abs(this.sum) >= Math.abs(x) ? this.sum - t + x : x - t + this.sum;
    this.sum = t;
  }

  get value(): number {
    return this.sum + this.compensation;
  }

  clone(): CompensatedSum {
    return new CompensatedSum(this.sum, this.compensation);
  }
}

export interface GaussianReleaseCost {
  sigma: number;
  sensitivity: number;
  epsilon: number;
  delta: number;
}

export interface PrivacySpend {
  epsilon: number;
  delta: number;
}

/** The composition state recorded in certificates. */
export interface CompositionState {
  releases: number;
  /** Basic composition: the sums of the per-release epsilons and deltas. */
  basic: PrivacySpend;
  /**
   * Renyi composition: rho = sum D^2 / (2 sigma^2), converted at the basic delta (so both
   * accounts are stated at the same delta) by the Balle et al. 2020 conversion.
   */
  rdp: PrivacySpend & { rho: number; order: number };
}

export class CompositionTally {
  private constructor(
    private count: number,
    private readonly epsilonSum: CompensatedSum,
    private readonly deltaSum: CompensatedSum,
    private readonly rhoSum: CompensatedSum,
  ) {}

  static empty(): CompositionTally {
    return new CompositionTally(
      0,
      new CompensatedSum(),
      new CompensatedSum(),
      new CompensatedSum(),
    );
  }

  add(release: GaussianReleaseCost): void {
    this.count += 1;
    this.epsilonSum.add(release.epsilon);
    this.deltaSum.add(release.delta);
    const ratio = release.sensitivity / release.sigma;
    this.rhoSum.add((ratio * ratio) / 2);
  }

  clone(): CompositionTally {
    return new CompositionTally(
      this.count,
      this.epsilonSum.clone(),
      this.deltaSum.clone(),
      this.rhoSum.clone(),
    );
  }

  get releases(): number {
    return this.count;
  }

  basic(): PrivacySpend {
    return { epsilon: this.epsilonSum.value, delta: this.deltaSum.value };
  }

  rdp(delta: number, orders: readonly number[]): PrivacySpend & { rho: number; order: number } {
    const rho = this.rhoSum.value;
    const { epsilon, order } = rdpToEpsilon(rho, delta, orders);
    return { epsilon, delta, rho, order };
  }

  state(orders: readonly number[]): CompositionState {
    const basic = this.basic();
    const rdp =
      this.count === 0
        ? { epsilon: 0, delta: 0, rho: 0, order: Number.NaN }
        : this.rdp(Math.min(basic.delta, 1 - Number.EPSILON), orders);
    return { releases: this.count, basic, rdp: { ...rdp, order: nullableOrder(rdp.order) } };
  }
}

// JSON has no NaN: an undefined best order (nothing spent) is stored as 0.
function nullableOrder(order: number): number {
  return Number.isNaN(order) ? 0 : order;
}

export type CompositionMethod = 'basic' | 'rdp' | 'best';

/**
 * Slack for the basic sums only: ten releases at epsilon 0.1 add up to 0.9999999999999999 and
 * three to 0.30000000000000004, and a budget of 0.3 should admit three.
 */
const SUM_SLACK = 1e-12;

export interface FitResult {
  fits: boolean;
  /** The account that showed the spend fits (or, if none does, the tighter one's epsilon). */
  method: 'basic' | 'rdp';
  spent: PrivacySpend;
}

/** Whether the releases tallied are (limit.epsilon, limit.delta)-DP by the chosen account. */
export function fitsWithin(
  tally: CompositionTally,
  limit: PrivacySpend,
  method: CompositionMethod,
  orders: readonly number[],
): FitResult {
  const basic = tally.basic();
  const basicFits =
    basic.epsilon <= limit.epsilon * (1 + SUM_SLACK) &&
    basic.delta <= limit.delta * (1 + SUM_SLACK);
  if (method === 'basic') return { fits: basicFits, method: 'basic', spent: basic };
  const rdp = tally.rdp(limit.delta, orders);
  const rdpSpend = { epsilon: rdp.epsilon, delta: limit.delta };
  const rdpFits = rdp.epsilon <= limit.epsilon;
  if (method === 'rdp') return { fits: rdpFits, method: 'rdp', spent: rdpSpend };
  if (basicFits && (!rdpFits || basic.epsilon <= rdp.epsilon)) {
    return { fits: true, method: 'basic', spent: basic };
  }
  if (rdpFits) return { fits: true, method: 'rdp', spent: rdpSpend };
  return basic.epsilon <= rdp.epsilon
    ? { fits: false, method: 'basic', spent: basic }
    : { fits: false, method: 'rdp', spent: rdpSpend };
}
