// The empirical side of a certificate: release the unlearned weights and the retrained weights
// many times each through the same noise, attack every release, and turn the attack's success
// into a lower bound on epsilon (Clopper-Pearson, 95%). The certified epsilon is an upper bound
// on what any attack can show; the gap between the two is what the bound leaves on the table.
//
// The exact discrete Gaussian sampler costs ~50 ms per 7,850-weight draw here, too slow for
// thousands of releases, so the audit draws the grid mechanism's stand-in: the snapped weights
// plus a continuous Gaussian rounded to the grid. With sigma / gamma = s in the millions the
// two noise laws differ by O(1/s^2) per coordinate, far below what any number of trials resolves.
import type { Model } from '@lethe/autodiff';
import type { GridCalibration } from '@lethe/certify';
import type { Rng } from '@lethe/core';
import type { Dataset } from '@lethe/datasets';
import { empiricalEpsilon } from '@lethe/evaluate';
import { lossesOn } from '../../measure.js';
import { mean } from '../../stats.js';

export interface AuditInput {
  readonly model: Model;
  readonly unlearned: Float32Array;
  readonly retrained: Float32Array;
  /** The grid and noise of the certified release being audited. */
  readonly grid: GridCalibration;
  /** The audit's own seeded generator (the audit's noise is not the release's). */
  readonly rng: Rng;
  readonly train: Dataset;
  readonly forget: readonly number[];
  readonly delta: number;
  /** Releases per world. */
  readonly trials: number;
}

export interface AuditResult {
  /** Lower bound on epsilon at 95% from the loss attack on the forgotten samples. */
  readonly lossAttack: number;
  /**
   * The same from the strongest test for Gaussian noise between these two weight vectors: the
   * release's projection on their difference (a white-box attacker who knows both).
   */
  readonly projectionAttack: number;
  readonly trials: number;
}

export function auditRelease(input: AuditInput): AuditResult {
  const { unlearned, retrained } = input;
  const direction = new Float64Array(unlearned.length);
  for (let i = 0; i < direction.length; i++) direction[i] = unlearned[i]! - retrained[i]!;
  const loss: [number[], number[]] = [[], []];
  const projection: [number[], number[]] = [[], []];
  for (let t = 0; t < input.trials; t++) {
    [unlearned, retrained].forEach((weights, world) => {
      const released = gridRelease(weights, input.grid, input.rng);
      // Lower loss on the forgotten samples reads as "they are still in": the unlearned world.
      loss[world]!.push(
        -mean(Array.from(lossesOn(input.model, released, input.train, input.forget))),
      );
      let dot = 0;
      for (let i = 0; i < released.length; i++) dot += released[i]! * direction[i]!;
      projection[world]!.push(dot);
    });
  }
  const audit = (scores: [number[], number[]]) =>
    empiricalEpsilon(scores[0], scores[1], { delta: input.delta }).epsilon;
  return {
    lossAttack: audit(loss),
    projectionAttack: audit(projection),
    trials: input.trials,
  };
}

/** snap(w) + gamma round(sigma z / gamma): the grid mechanism with rounded continuous noise. */
function gridRelease(
  weights: Float32Array,
  grid: Pick<GridCalibration, 'sigma' | 'gamma'>,
  rng: Rng,
): Float32Array {
  const { sigma, gamma } = grid;
  const out = new Float32Array(weights.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = gamma * (Math.round(weights[i]! / gamma) + Math.round((sigma * rng.normal()) / gamma));
  }
  return out;
}
