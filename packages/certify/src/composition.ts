// Running totals over Gaussian releases, shared by the accountant, the budget and the capacity
// calculator so that all three account identically (docs/method.md#composition).
import { analyticGaussianEpsilon } from './gaussian-mechanism.js';
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
  /**
   * The noise that was drawn. Only releases known to be continuous Gaussian compose exactly
   * under Gaussian differential privacy; a release without it (older logs) or with the discrete
   * Gaussian is accounted by the basic and Renyi sums only.
   */
  mechanism?: 'continuous-gaussian' | 'discrete-gaussian';
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
  /**
   * Gaussian differential privacy: the releases together are mu-GDP with mu the root sum of
   * squares of sensitivity / sigma, and their exact (epsilon, delta) curve is the analytic
   * Gaussian's at sensitivity mu and sigma 1, read at the basic delta. Null unless every release
   * drew continuous Gaussian noise (the composition is proven for that mechanism only).
   */
  gdp: (PrivacySpend & { mu: number }) | null;
}

export class CompositionTally {
  private constructor(
    private count: number,
    private readonly epsilonSum: CompensatedSum,
    private readonly deltaSum: CompensatedSum,
    private readonly rhoSum: CompensatedSum,
    private continuousOnly: boolean,
  ) {}

  static empty(): CompositionTally {
    return new CompositionTally(
      0,
      new CompensatedSum(),
      new CompensatedSum(),
      new CompensatedSum(),
      true,
    );
  }

  add(release: GaussianReleaseCost): void {
    this.count += 1;
    this.epsilonSum.add(release.epsilon);
    this.deltaSum.add(release.delta);
    const ratio = release.sensitivity / release.sigma;
    this.rhoSum.add((ratio * ratio) / 2);
    if (release.mechanism !== 'continuous-gaussian') this.continuousOnly = false;
  }

  clone(): CompositionTally {
    return new CompositionTally(
      this.count,
      this.epsilonSum.clone(),
      this.deltaSum.clone(),
      this.rhoSum.clone(),
      this.continuousOnly,
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

  /** Whether the GDP account applies: at least one release, every one continuous Gaussian. */
  get gdpApplies(): boolean {
    return this.count > 0 && this.continuousOnly;
  }

  /**
   * The GDP account at `delta`, or null when it does not apply. mu^2 = 2 rho: the Renyi sum
   * already holds the sum of squared sensitivity / sigma ratios.
   */
  gdp(delta: number): (PrivacySpend & { mu: number }) | null {
    if (!this.gdpApplies) return null;
    const mu = Math.sqrt(2 * this.rhoSum.value);
    return { epsilon: analyticGaussianEpsilon({ sigma: 1, sensitivity: mu, delta }), delta, mu };
  }

  state(orders: readonly number[]): CompositionState {
    const basic = this.basic();
    const atDelta = Math.min(basic.delta, 1 - Number.EPSILON);
    const rdp =
      this.count === 0
        ? { epsilon: 0, delta: 0, rho: 0, order: Number.NaN }
        : this.rdp(atDelta, orders);
    return {
      releases: this.count,
      basic,
      rdp: { ...rdp, order: nullableOrder(rdp.order) },
      gdp: this.gdp(atDelta),
    };
  }
}

// JSON has no NaN: an undefined best order (nothing spent) is stored as 0.
function nullableOrder(order: number): number {
  return Number.isNaN(order) ? 0 : order;
}

export type CompositionMethod = 'basic' | 'rdp' | 'gdp' | 'best';

/**
 * Slack for the basic sums only: ten releases at epsilon 0.1 add up to 0.9999999999999999 and
 * three to 0.30000000000000004, and a budget of 0.3 should admit three.
 */
const SUM_SLACK = 1e-12;

export interface FitResult {
  fits: boolean;
  /** The account that showed the spend fits (or, if none does, the tightest one's epsilon). */
  method: 'basic' | 'rdp' | 'gdp';
  spent: PrivacySpend;
}

/**
 * Whether the releases tallied are (limit.epsilon, limit.delta)-DP by the chosen account. 'best'
 * takes every account that applies and answers with the one that fits, preferring the smallest
 * epsilon; 'gdp' asked of releases it does not apply to answers with the Renyi account.
 */
export function fitsWithin(
  tally: CompositionTally,
  limit: PrivacySpend,
  method: CompositionMethod,
  orders: readonly number[],
): FitResult {
  const basic = tally.basic();
  const basicFit: FitResult = {
    fits:
      basic.epsilon <= limit.epsilon * (1 + SUM_SLACK) &&
      basic.delta <= limit.delta * (1 + SUM_SLACK),
    method: 'basic',
    spent: basic,
  };
  if (method === 'basic') return basicFit;
  const rdp = tally.rdp(limit.delta, orders);
  const rdpFit: FitResult = {
    fits: rdp.epsilon <= limit.epsilon,
    method: 'rdp',
    spent: { epsilon: rdp.epsilon, delta: limit.delta },
  };
  const gdp = tally.gdp(limit.delta);
  const gdpFit: FitResult | undefined =
    gdp === null
      ? undefined
      : {
          fits: gdp.epsilon <= limit.epsilon,
          method: 'gdp',
          spent: { epsilon: gdp.epsilon, delta: limit.delta },
        };
  if (method === 'rdp') return rdpFit;
  if (method === 'gdp') return gdpFit ?? rdpFit;
  const accounts = [basicFit, rdpFit, ...(gdpFit ? [gdpFit] : [])];
  const fitting = accounts.filter((a) => a.fits);
  const pool = fitting.length > 0 ? fitting : accounts;
  return pool.reduce((best, a) => (a.spent.epsilon < best.spent.epsilon ? a : best));
}
