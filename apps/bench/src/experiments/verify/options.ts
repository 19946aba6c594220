import type { ExperimentFlags } from '../../setup.js';

export interface VerifyFlags extends ExperimentFlags {
  readonly forget: number;
  readonly workers?: number | undefined;
  readonly blockSize?: number | undefined;
  readonly lazy: boolean;
  /** 2 adds the second-order refinement (distance.hf2). */
  readonly order: 1 | 2;
  /** Deletion counts for a sweep of the distance ratios (first and, with order 2, second order). */
  readonly sweep?: readonly number[] | undefined;
}
