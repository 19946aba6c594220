import { deriveSeed, Rng } from '@lethe/core';
import { takeSamples } from '@lethe/datasets';
import { type TrainResult, Unlearner } from '@lethe/recollect';
import { progressLine } from '../../progress.js';
import type { MiaSetting } from './setting.js';

/** A model before and after forgetting `forget`, with as many never-seen samples to probe. */
export interface UnlearnedPair {
  readonly original: Float32Array;
  readonly unlearned: Float32Array;
  readonly forget: readonly number[];
  readonly outside: readonly number[];
}

/**
 * The target and each unlearning shadow forget m of their members with the Hessian-free method
 * (approximators of the forgotten ids only, computed lazily). The shadows' forgotten and
 * never-seen samples avoid the target's, so no shadow pair is scored.
 */
export async function unlearnPairs(
  s: MiaSetting,
  target: TrainResult,
  shadowRuns: readonly { ids: readonly number[]; run: TrainResult }[],
) {
  const m = s.flags.forget;
  const targetForget = s.perm.slice(0, m); // perm's first n are the target's members
  const targetOutside = s.perm.slice(s.n, s.n + m);
  const used = new Set([...targetForget, ...targetOutside]);
  const progress = progressLine('MIA-U unlearning (Hessian-free, lazy)');
  const total = 1 + shadowRuns.length;
  progress(0);
  const unlearn = async (
    trainIds: readonly number[],
    run: TrainResult,
    forget: readonly number[],
    outside: readonly number[],
  ): Promise<UnlearnedPair> => {
    const row = new Map(trainIds.map((id, r) => [id, r]));
    const unlearner = await Unlearner.open(s.model, run.trajectory, {
      kind: 'lazy',
      data: takeSamples(s.pool, trainIds),
      workers: s.flags.workers ?? 1,
    });
    await unlearner.forgetBatch(forget.map((id) => row.get(id)!));
    return { original: run.weights, unlearned: unlearner.weights, forget, outside };
  };
  const targetPair = await unlearn(s.targetIds, target, targetForget, targetOutside);
  progress(1 / total);
  const shadowPairs: UnlearnedPair[] = [];
  for (const [k, { ids, run }] of shadowRuns.entries()) {
    const inSet = new Set(ids);
    const rng = new Rng(deriveSeed(s.flags.seed, 0x0f0e, k));
    const shuffled = Array.from(rng.permutation(s.pool.n)).filter((id) => !used.has(id));
    const forget = shuffled.filter((id) => inSet.has(id)).slice(0, m);
    const outside = shuffled.filter((id) => !inSet.has(id)).slice(0, m);
    shadowPairs.push(await unlearn(ids, run, forget, outside));
    progress((k + 2) / total);
  }
  return { targetPair, shadowPairs };
}
