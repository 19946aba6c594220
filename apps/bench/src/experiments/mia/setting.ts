import type { Model } from '@lethe/autodiff';
import { deriveSeed, LetheError, Rng } from '@lethe/core';
import { type Dataset, takeSamples } from '@lethe/datasets';
import { type TrainConfig, type TrainResult, train } from '@lethe/recollect';
import { type Experiment, resolveConfig, setUp } from '../../setup.js';
import type { MiaFlags } from './options.js';

/** The pool, the target's half of it, and how to train a model on some of its samples. */
export interface MiaSetting {
  readonly flags: MiaFlags;
  readonly exp: Experiment;
  readonly model: Model;
  readonly config: TrainConfig;
  /** 2n samples; the target trains on n of them. */
  readonly pool: Dataset;
  readonly n: number;
  /** A seeded permutation of the pool: the first n are the target's members. */
  readonly perm: readonly number[];
  readonly targetIds: readonly number[];
  trainOn(ids: readonly number[], seed: number, keepTrajectory: boolean): TrainResult;
}

/** Checks the flags against the setting (before any work). */
export function checkMiaFlags(flags: MiaFlags): void {
  const { n } = resolveConfig(flags);
  const int = (name: string, v: number, min: number, max: number) => {
    if (!(Number.isInteger(v) && v >= min && v <= max)) {
      throw new LetheError(
        'invalid-argument',
        `--${name} ${v} must be an integer in [${min}, ${max}].`,
      );
    }
  };
  int('shadows', flags.shadows, 2, 1024);
  if (flags.shadows % 2 !== 0) {
    throw new LetheError(
      'invalid-argument',
      `--shadows ${flags.shadows} must be even: every sample is in half of them.`,
    );
  }
  int('unlearn-shadows', flags.unlearnShadows, 1, flags.shadows);
  // Each model forgets m of its members and probes m never-seen samples, none of them the target's.
  int('forget', flags.forget, 1, Math.floor(n / 4));
  int('rho-steps', flags.rhoSteps, 0, 100_000);
}

export async function miaSetting(flags: MiaFlags): Promise<MiaSetting> {
  const { n } = resolveConfig(flags);
  checkMiaFlags(flags);
  const exp = await setUp({ ...flags, n: 2 * n }).catch((err: unknown) => {
    // The pool is twice the target's n: say so, since --n was not 2n as the user gave it.
    const available = err instanceof LetheError && /the (\d+) training samples/.exec(err.message);
    if (available && err.message.startsWith(`--n ${2 * n} `)) {
      throw new LetheError(
        'invalid-argument',
        `mia draws a pool of 2n = ${2 * n} samples (the target trains on n = ${n} of them) and ${flags.dataset} has ${available[1]} training samples: pass --n <= ${Math.floor(Number(available[1]) / 2)}.`,
      );
    }
    throw err;
  });
  const { model, config } = exp;
  const pool = exp.train;
  const perm = Array.from(new Rng(deriveSeed(flags.seed, 0x3141)).permutation(pool.n));
  return {
    flags,
    exp,
    model,
    config,
    pool,
    n,
    perm,
    targetIds: perm.slice(0, n).sort((a, b) => a - b),
    trainOn: (ids, seed, keepTrajectory) =>
      train(
        model,
        takeSamples(pool, ids),
        { ...config, seed },
        { checkpoints: keepTrajectory ? { kind: 'every-step' } : { kind: 'none' } },
      ),
  };
}
