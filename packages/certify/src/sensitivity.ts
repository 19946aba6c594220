// Global L2 sensitivity models for a certified release. The paper's bound is one model; a bound
// supplied by the user (with a description of where it comes from) is accepted wherever the
// formula is.
import { LetheError } from '@lethe/core';
import { powerDividedDifference, powerSecondDividedDifference } from './divided-differences.js';
import {
  requireInRange,
  requireInteger,
  requireNonEmptyString,
  requireNonNegative,
  requirePositive,
} from './validate.js';

/** Parameters of the authors' bound (docs/method.md#sensitivity-models); G is taken as C. */
export interface PaperSensitivityParams {
  /** Initial learning rate eta_0. */
  eta: number;
  /** Per-step learning-rate decay, eta_t = eta_0 q^t; in (0, 1]. */
  q: number;
  /** Gradient clipping norm C, used as the gradient bound G. */
  C: number;
  /** Bound on the spectral norm of I - eta_t H_t over the trajectory. */
  rho: number;
  /** Number of steps, n (E + 1) / |B| as the authors compute it (need not be an integer). */
  T: number;
  /** Batches per epoch, ceil(n / |B|). */
  B: number;
  /** Batch size |B|. */
  batchSize: number;
  /** Number of deletions m. */
  m: number;
}

export interface PaperSensitivityModel extends PaperSensitivityParams {
  kind: 'paper';
}

export interface UserSensitivityModel {
  kind: 'user';
  /** The L2 sensitivity bound itself. */
  value: number;
  /** Where the bound comes from (a derivation, a paper, a measurement protocol). */
  description: string;
}

export type SensitivityModel = PaperSensitivityModel | UserSensitivityModel;

/**
 * The authors' bound
 *   2 eta^2 G (1-q) [ (rho^T - q^T)/(rho - q) - (rho^T - q^2T)/(rho - q^2) ]
 *     + 2 eta G (m/|B|) (rho^T - q^T) rho^B q^B / (rho^B - q^B).
 * The bracket equals q (1 - q) f[q, rho, q^2] and the last quotient f[rho, q](T) / f[rho, q](B),
 * with f(x) = x^T (resp. x^B) and f[...] divided differences, so rho = q, rho = q^2, q = 1 and
 * rho = 1 are evaluated as limits, continuously, instead of as 0/0.
 */
export function paperSensitivity(params: PaperSensitivityParams): number {
  const where = 'paperSensitivity';
  const eta = requirePositive(where, 'eta', params.eta);
  const q = requireInRange(where, 'q', params.q, Number.MIN_VALUE, 1, 'a number in (0, 1]');
  const G = requirePositive(where, 'C', params.C);
  const rho = requirePositive(where, 'rho', params.rho);
  const T = requireInRange(where, 'T', params.T, 1, Number.MAX_VALUE, 'a finite number >= 1');
  const B = requireInRange(where, 'B', params.B, 1, Number.MAX_VALUE, 'a finite number >= 1');
  const batchSize = requireInteger(where, 'batchSize', params.batchSize, 1);
  const m = requireInteger(where, 'm', params.m, 0);

  const oneMinusQ = 1 - q;
  const driftTerm =
    oneMinusQ === 0
      ? 0
      : 2 *
        eta *
        eta *
        G *
        q *
        oneMinusQ *
        oneMinusQ *
        powerSecondDividedDifference(q, rho, q * q, T);
  if (m === 0) return driftTerm;
  const decay = Math.exp(B * (Math.log(rho) + Math.log(q))); // rho^B q^B
  const deletionTerm =
    ((2 * eta * G * m) / batchSize) *
    decay *
    (powerDividedDifference(rho, q, T) / powerDividedDifference(rho, q, B));
  return driftTerm + deletionTerm;
}

/** T = n (E + 1) / |B| and B = ceil(n / |B|), computed as the authors do. */
export function paperStepCounts(run: { n: number; epochs: number; batchSize: number }): {
  T: number;
  B: number;
} {
  const where = 'paperStepCounts';
  const n = requireInteger(where, 'n', run.n, 1);
  const epochs = requireInteger(where, 'epochs', run.epochs, 1);
  const batchSize = requireInteger(where, 'batchSize', run.batchSize, 1);
  return { T: (n * (epochs + 1)) / batchSize, B: Math.ceil(n / batchSize) };
}

/** The L2 sensitivity a model stands for. */
export function sensitivityValue(model: SensitivityModel): number {
  switch (model?.kind) {
    case 'paper':
      return paperSensitivity(model);
    case 'user':
      requireNonEmptyString('sensitivityValue', 'description', model.description);
      return requireNonNegative('sensitivityValue', 'value', model.value);
    default:
      throw new LetheError(
        'invalid-argument',
        `sensitivityValue: kind = ${JSON.stringify((model as { kind?: unknown } | undefined)?.kind)} is invalid; expected 'paper' or 'user'.`,
      );
  }
}

/** The same model with m deletions (a user bound does not depend on m and is returned as is). */
export function withDeletions(model: SensitivityModel, m: number): SensitivityModel {
  return model.kind === 'paper' ? { ...model, m } : model;
}
