import { aucNullStd } from '@lethe/evaluate';
import { accuracyOn, backendRecord } from '../../measure.js';
import { attackAtLevels } from './attacks.js';
import { runLira } from './lira.js';
import { noiseLevels } from './noise-levels.js';
import type { MiaFlags } from './options.js';
import { unlearnPairs } from './pairs.js';
import { miaSetting } from './setting.js';

/**
 * `pnpm bench mia`: membership inference against the paper's logistic MNIST setting.
 * The pool is 2n training images; the target trains on a random half (n, the paper's size).
 * MIA-L: LiRA with shadows on random halves of the pool, against the original target model.
 * MIA-U: the target forgets m of its members, its release gets N(0, sigma^2 I) noise at each
 * level; the attack learns from shadow models unlearned and noised the same way and is scored
 * on the target's forgotten and never-seen samples, which no shadow pair contains.
 */
export async function runMia(flags: MiaFlags) {
  const s = await miaSetting(flags);
  const { model, config, pool, n, exp } = s;
  const m = flags.forget;
  process.stderr.write(
    `mia: ${model.name} (d = ${model.d}) on ${flags.dataset}, pool ${pool.n}, target n = ${n}, ${flags.shadows} shadows (${flags.unlearnShadows} unlearned), forget ${m}, backend ${exp.backend.name}\n`,
  );
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, step: () => T | Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const out = await step();
    seconds[name] = (performance.now() - t0) / 1000;
    return out;
  };
  const started = performance.now();
  const { target, shadowRuns, lira } = await timed('train', () => runLira(s));
  const { targetPair, shadowPairs } = await timed('unlearn', () =>
    unlearnPairs(s, target, shadowRuns),
  );
  const { sensitivity, levels } = await timed('rho', () => noiseLevels(s, target));
  const miaU = await timed('attacks', () => attackAtLevels(s, levels, targetPair, shadowPairs));

  const result = {
    config: {
      model: model.name,
      dataset: flags.dataset,
      n,
      poolSize: pool.n,
      shadows: flags.shadows,
      unlearnShadows: flags.unlearnShadows,
      forget: m,
      delta: flags.delta,
      epsilons: flags.epsilons,
      sigmas: flags.sigmas,
      attackPairs: { shadow: 2 * m * shadowPairs.length, target: 2 * m },
      ...config,
    },
    backend: exp.backend.name,
    backendDetail: backendRecord(exp.backend),
    seed: flags.seed,
    sensitivity,
    accuracy: {
      targetTrain: accuracyOn(model, target.weights, pool, s.targetIds),
      target: accuracyOn(model, target.weights, exp.test),
      unlearned: accuracyOn(model, targetPair.unlearned, exp.test),
    },
    /** Standard deviation of a chance-level attack's AUC with these class sizes. */
    aucNullStd: { lira: aucNullStd(n, pool.n - n), miaU: aucNullStd(m, m) },
    lira: lira.map(({ roc: _roc, ...rest }) => rest),
    miaU: miaU.map((l) => ({ ...l, attacks: l.attacks.map(({ roc: _roc, ...rest }) => rest) })),
    seconds: { ...seconds, total: (performance.now() - started) / 1000 },
  };
  process.stderr.write(`mia: ${result.seconds.total.toFixed(1)} s\n`);
  // The ROC curves stay out of result.json (thousands of points); the report draws them.
  return { result, lira, miaU };
}

export type MiaMeasurement = Awaited<ReturnType<typeof runMia>>;
