// The ablate experiment's vocabulary: the paper's ablation grids (docs/method.md, seed 42) and
// the quick ones.
import type { ExperimentFlags } from '../../setup.js';

export const ABLATIONS = ['step-size', 'epochs', 'clip', 'decay', 'repair'] as const;
export type Ablation = (typeof ABLATIONS)[number];

export interface Grids {
  readonly stepSize: readonly number[];
  readonly epochs: readonly number[];
  readonly clip: readonly number[];
  /** decay: q in decays x E in decayEpochs. */
  readonly decays: readonly number[];
  readonly decayEpochs: readonly number[];
}

export const PAPER_GRIDS: Grids = {
  stepSize: [0.001, 0.005, 0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
  epochs: [1, 2, 5, 10, 15, 25, 50, 100, 200],
  clip: [0.3, 1, 3, 5, 10, 100, 1000, 10000],
  decays: [1, 0.995],
  decayEpochs: [1, 5, 10, 20, 40, 60],
};

/** The CNN trains up to 100 epochs in the paper's epoch ablation. */
export const PAPER_CNN_EPOCHS = [1, 2, 5, 10, 20, 50, 100];

export const QUICK_GRIDS: Grids = {
  stepSize: [0.01, 0.05, 0.2],
  epochs: [1, 2, 4],
  clip: [0.5, 5, 1000],
  decays: [1, 0.995],
  decayEpochs: [1, 3],
};

export interface AblateFlags extends ExperimentFlags {
  readonly ablations: readonly Ablation[];
  /** Deletions of each ablation point (the paper uses 200). */
  readonly forget: number;
  readonly workers: number;
  /** Repair curve: rounds of forget / rounds deletions each, a repair after every round. */
  readonly rounds: number;
  readonly repairEpochs: number;
}
