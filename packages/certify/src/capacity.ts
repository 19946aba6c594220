// How many deletions can be certified before the noise needed for the per-release target
// (epsilon, delta) exceeds what the model can bear, or before the total budget is spent.

import { LetheError } from '@lethe/core';
import { type BudgetLimit, PrivacyBudget } from './budget.js';
import { type CompositionMethod, type CompositionTally, fitsWithin } from './composition.js';
import { analyticGaussianSigma } from './gaussian-mechanism.js';
import { type SensitivityModel, sensitivityValue, withDeletions } from './sensitivity.js';
import { requireInteger, requireOpenUnit, requirePositive } from './validate.js';

export interface DeletionCapacityQuery {
  /**
   * The sensitivity after m deletions: a paper model (its m is replaced), a user bound (taken
   * as not depending on m), or a function of m. Must not decrease as m grows.
   */
  sensitivity: SensitivityModel | ((deletions: number) => SensitivityModel);
  /** Per-release target; each release is calibrated with analyticGaussianSigma. */
  epsilon: number;
  delta: number;
  /** Largest sigma the model tolerates (accuracy floor). */
  sigmaCeiling?: number;
  /** Total budget over all releases; an existing PrivacyBudget counts what it already spent. */
  budget?: PrivacyBudget | (BudgetLimit & { composition?: CompositionMethod });
  /** Deletions per release: 1 for online unlearning (default), the batch size for batch mode. */
  deletionsPerRelease?: number;
  /**
   * The noise each release draws: 'continuous-gaussian' (default; sigma is calibrated on its
   * analytic curve, and the GDP account applies) or 'discrete-gaussian' (the Renyi and basic
   * accounts only).
   */
  mechanism?: 'continuous-gaussian' | 'discrete-gaussian';
  /** Where the search stops (default 1,000,000). */
  maxDeletions?: number;
}

export interface DeletionCapacity {
  /** Deletions that can be certified: releases * deletionsPerRelease. */
  deletions: number;
  releases: number;
  limitedBy: 'sigmaCeiling' | 'budget' | 'maxDeletions';
  /** Sigma of the last release that fits, or null if none does. */
  lastSigma: number | null;
  /** Sigma the first release that does not fit would need, or null at maxDeletions. */
  nextSigma: number | null;
}

export function deletionCapacity(query: DeletionCapacityQuery): DeletionCapacity {
  const where = 'deletionCapacity';
  const epsilon = requirePositive(where, 'epsilon', query.epsilon);
  const delta = requireOpenUnit(where, 'delta', query.delta);
  const perRelease = requireInteger(
    where,
    'deletionsPerRelease',
    query.deletionsPerRelease ?? 1,
    1,
  );
  const maxDeletions = requireInteger(where, 'maxDeletions', query.maxDeletions ?? 1_000_000, 0);
  const ceiling =
    query.sigmaCeiling === undefined
      ? Number.POSITIVE_INFINITY
      : requirePositive(where, 'sigmaCeiling', query.sigmaCeiling);
  if (query.sigmaCeiling === undefined && query.budget === undefined) {
    throw new LetheError(
      'invalid-argument',
      `${where}: pass a sigmaCeiling, a budget, or both; without either nothing limits deletions.`,
    );
  }
  const mechanism = query.mechanism ?? 'continuous-gaussian';
  if (mechanism !== 'continuous-gaussian' && mechanism !== 'discrete-gaussian') {
    throw new LetheError(
      'invalid-argument',
      `${where}: mechanism = ${JSON.stringify(mechanism)}; use 'continuous-gaussian' or 'discrete-gaussian'.`,
    );
  }
  const model = query.sensitivity;
  const sensitivityAt = (m: number) =>
    sensitivityValue(typeof model === 'function' ? model(m) : withDeletions(model, m));
  const sigmaAt = (release: number) =>
    analyticGaussianSigma({ epsilon, delta, sensitivity: sensitivityAt(release * perRelease) });

  // Releases allowed by the ceiling: sigma grows with m, so search the boundary by doubling then
  // bisection instead of evaluating every release.
  const maxReleases = Math.floor(maxDeletions / perRelease);
  let byCeiling = maxReleases;
  if (Number.isFinite(ceiling) && maxReleases > 0 && sigmaAt(maxReleases) > ceiling) {
    let fits = 0;
    let fails = 1;
    while (fails < maxReleases && sigmaAt(fails) <= ceiling) {
      fits = fails;
      fails = Math.min(2 * fails, maxReleases);
    }
    while (fails - fits > 1) {
      const mid = Math.floor((fits + fails) / 2);
      if (sigmaAt(mid) <= ceiling) fits = mid;
      else fails = mid;
    }
    byCeiling = fits;
  }

  // Releases allowed by the budget: compose them one by one, exactly as PrivacyBudget would.
  let releases = byCeiling;
  let limitedBy: DeletionCapacity['limitedBy'] =
    byCeiling < maxReleases ? 'sigmaCeiling' : 'maxDeletions';
  if (query.budget !== undefined) {
    const budget =
      query.budget instanceof PrivacyBudget
        ? query.budget
        : new PrivacyBudget(query.budget, { composition: query.budget.composition ?? 'best' });
    const tally: CompositionTally = budget.accountant.tallySnapshot();
    for (let release = 1; release <= byCeiling; release++) {
      tally.add({
        sigma: sigmaAt(release),
        sensitivity: sensitivityAt(release * perRelease),
        epsilon,
        delta,
        mechanism,
      });
      if (!fitsWithin(tally, budget.limit, budget.composition, budget.accountant.orders).fits) {
        releases = release - 1;
        limitedBy = 'budget';
        break;
      }
    }
  }
  return {
    deletions: releases * perRelease,
    releases,
    limitedBy,
    lastSigma: releases > 0 ? sigmaAt(releases) : null,
    nextSigma: limitedBy === 'maxDeletions' ? null : sigmaAt(releases + 1),
  };
}
