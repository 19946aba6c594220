import { deriveSeed } from '@lethe/core';
import { attackMetrics, liraScores, logitScaledConfidence, trainShadows } from '@lethe/evaluate';
import type { TrainResult } from '@lethe/recollect';
import { logitsOn } from '../../measure.js';
import { progressLine } from '../../progress.js';
import { headline, LIRA_VARIANTS } from './options.js';
import type { MiaSetting } from './setting.js';

/**
 * MIA-L: trains the target and the LiRA shadows (keeping the first --unlearn-shadows runs'
 * trajectories for MIA-U) and scores the target's membership with each LiRA variant.
 */
export async function runLira(s: MiaSetting) {
  const { flags, model, pool } = s;
  const targetProgress = progressLine('target model');
  targetProgress(0);
  const target = s.trainOn(s.targetIds, flags.seed, true);
  targetProgress(1);
  const targetMember = new Uint8Array(pool.n);
  for (const id of s.targetIds) targetMember[id] = 1;

  const shadowRuns: { ids: number[]; run: TrainResult }[] = [];
  const shadowProgress = progressLine('LiRA shadows');
  shadowProgress(0);
  const shadowSet = await trainShadows({
    poolSize: pool.n,
    labels: pool.y,
    classes: model.numClasses,
    count: flags.shadows,
    seed: deriveSeed(flags.seed, 0x5ad0),
    train: (ids, k) => {
      const keep = k < flags.unlearnShadows;
      const run = s.trainOn(Array.from(ids), deriveSeed(flags.seed, k + 1), keep);
      if (keep) shadowRuns.push({ ids: Array.from(ids), run });
      return logitsOn(model, run.weights, pool);
    },
    onShadow: (done, total) => shadowProgress(done / total, `${done}/${total}`),
  });
  const confidence = logitScaledConfidence(
    logitsOn(model, target.weights, pool),
    pool.y,
    model.numClasses,
  );
  const lira = LIRA_VARIANTS.map(({ name, options }) => {
    const metrics = attackMetrics(liraScores(shadowSet, confidence, options), targetMember);
    return { name, options, ...headline(metrics), roc: metrics.roc };
  });
  return { target, shadowRuns, lira };
}
