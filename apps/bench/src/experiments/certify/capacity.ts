// How many online releases a total budget admits under each composition account. Every release
// is calibrated to the same per-release target, so the ratio sensitivity / sigma and hence the
// count do not depend on the model or the bound: the table is arithmetic on the accountant.
import { deletionCapacity } from '@lethe/certify';

/** The total budget the table spends, and the per-release delta (1/100 of it). */
export const CAPACITY_BUDGET = { epsilon: 5, delta: 1e-5 } as const;
const PER_RELEASE_DELTA = CAPACITY_BUDGET.delta / 100;
const PER_RELEASE_EPSILONS = [0.05, 0.1, 0.25, 0.5, 1] as const;

export interface CapacityRow {
  perReleaseEpsilon: number;
  perReleaseDelta: number;
  basic: number;
  rdp: number;
  /** Continuous Gaussian releases only: the exact GDP account. */
  gdp: number;
  /** What the default (discrete Gaussian) release gets: the best of basic and Renyi. */
  discreteBest: number;
}

export function capacityTable(): CapacityRow[] {
  return PER_RELEASE_EPSILONS.map((epsilon) => {
    const count = (
      composition: 'basic' | 'rdp' | 'gdp' | 'best',
      mechanism: 'continuous-gaussian' | 'discrete-gaussian',
    ) =>
      deletionCapacity({
        sensitivity: { kind: 'user', value: 1, description: 'any bound: the count is scale-free' },
        epsilon,
        delta: PER_RELEASE_DELTA,
        budget: { ...CAPACITY_BUDGET, composition },
        mechanism,
        maxDeletions: 100_000,
      }).deletions;
    return {
      perReleaseEpsilon: epsilon,
      perReleaseDelta: PER_RELEASE_DELTA,
      basic: count('basic', 'continuous-gaussian'),
      rdp: count('rdp', 'continuous-gaussian'),
      gdp: count('gdp', 'continuous-gaussian'),
      discreteBest: count('best', 'discrete-gaussian'),
    };
  });
}
