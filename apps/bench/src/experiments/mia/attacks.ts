import { addGaussianNoise, seededNoiseSource } from '@lethe/certify';
import { deriveSeed } from '@lethe/core';
import { FEATURE_KINDS, posteriors, type UnlearningPairs, unlearningAttack } from '@lethe/evaluate';
import { accuracyOn, logitsOn } from '../../measure.js';
import { progressLine } from '../../progress.js';
import type { NoiseLevel } from './noise-levels.js';
import { CLASSIFIERS, headline } from './options.js';
import type { UnlearnedPair } from './pairs.js';
import type { MiaSetting } from './setting.js';

function concat(ps: readonly UnlearningPairs[]): UnlearningPairs {
  return {
    original: Float64Array.from(ps.flatMap((p) => Array.from(p.original))),
    unlearned: Float64Array.from(ps.flatMap((p) => Array.from(p.unlearned))),
    labels: ps.flatMap((p) => Array.from(p.labels)),
  };
}

/**
 * MIA-U at every noise level: the unlearned weights get N(0, sigma^2 I) (the shadows too: the
 * attacker knows the mechanism); every feature x classifier attack trains on the shadows'
 * pairs and is scored on the target's. Also the released target's accuracy per level.
 */
export function attackAtLevels(
  s: MiaSetting,
  levels: readonly NoiseLevel[],
  targetPair: UnlearnedPair,
  shadowPairs: readonly UnlearnedPair[],
) {
  const { model, pool, flags } = s;
  const classes = model.numClasses;
  const probe = (weights: Float32Array, ids: readonly number[]) => {
    const p = posteriors(logitsOn(model, weights, pool), classes);
    const out = new Float64Array(ids.length * classes);
    ids.forEach((id, i) => out.set(p.subarray(id * classes, (id + 1) * classes), i * classes));
    return out;
  };
  const release = (pair: UnlearnedPair, sigma: number, noiseSeed: number) =>
    sigma > 0
      ? addGaussianNoise(pair.unlearned, sigma, seededNoiseSource(noiseSeed))
      : pair.unlearned;
  const pairsAt = (pair: UnlearnedPair, released: Float32Array): UnlearningPairs => {
    const ids = [...pair.forget, ...pair.outside];
    return {
      original: probe(pair.original, ids),
      unlearned: probe(released, ids),
      labels: ids.map((_, i) => (i < pair.forget.length ? 1 : 0)),
    };
  };
  const progress = progressLine('MIA-U attacks');
  progress(0);
  return levels.map((level, li) => {
    const noiseSeed = (k: number) => deriveSeed(flags.seed, 0x7015e, li, k);
    const released = release(targetPair, level.sigma, noiseSeed(0));
    const target = pairsAt(targetPair, released);
    const shadow = concat(
      shadowPairs.map((p, k) => pairsAt(p, release(p, level.sigma, noiseSeed(k + 1)))),
    );
    const attacks = FEATURE_KINDS.flatMap((feature) =>
      CLASSIFIERS.map((classifier) => {
        const r = unlearningAttack(shadow, target, {
          classes,
          feature,
          classifier,
          seed: deriveSeed(flags.seed, 0xa77ac, li),
        });
        return { feature, classifier, ...headline(r), trainAuc: r.trainAuc, roc: r.roc };
      }),
    );
    progress((li + 1) / levels.length, `sigma ${level.sigma.toPrecision(3)}`);
    return {
      ...level,
      testAccuracy: accuracyOn(model, released, s.exp.test),
      forgetAccuracy: accuracyOn(model, released, pool, targetPair.forget),
      attacks,
    };
  });
}
