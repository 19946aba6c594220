import { useBackend } from '@lethe/autodiff';
import { deriveSeed, Rng } from '@lethe/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { FEATURE_KINDS, posteriors, type UnlearningPairs, unlearningAttack } from '../src/index.js';
import {
  logisticFor,
  logitsOn,
  type Pool,
  randomLabels,
  trainOn,
  unlearnLazy,
} from './fixtures.js';

beforeAll(async () => {
  await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
});

const CONFIG = {
  epochs: 30,
  batchSize: 16,
  lr: 0.1,
  lrDecay: 1,
  clip: Number.POSITIVE_INFINITY,
  l2: 0.001,
  seed: 3,
};

/**
 * One original model trained on `size` pool samples, `forget` of them unlearned with the
 * Hessian-free method; `nonMembers` pool samples it never saw. Ids in `exclude` are never used
 * (the target's samples, when building shadows).
 */
async function unlearnedPair(
  pool: Pool,
  seed: number,
  size: number,
  forget: number,
  exclude: Set<number>,
) {
  const model = logisticFor(pool);
  const perm = Array.from(new Rng(seed).permutation(pool.n));
  const trainIds = perm.slice(0, size).sort((a, b) => a - b);
  const trainSet = new Set(trainIds);
  const forgetRows = trainIds
    .map((id, row) => ({ id, row }))
    .filter(({ id }) => !exclude.has(id))
    .slice(0, forget);
  const nonMembers = perm
    .slice(size)
    .filter((id) => !exclude.has(id) && !trainSet.has(id))
    .slice(0, forget);
  const result = trainOn(model, pool, trainIds, CONFIG, seed);
  const unlearned = await unlearnLazy(
    model,
    pool,
    trainIds,
    result,
    forgetRows.map((r) => r.row),
  );
  const ids = [...forgetRows.map((r) => r.id), ...nonMembers];
  const labels = [...forgetRows.map(() => 1), ...nonMembers.map(() => 0)];
  const probe = (w: Float32Array) => {
    const all = posteriors(logitsOn(model, w, pool), pool.classes);
    const out = new Float64Array(ids.length * pool.classes);
    ids.forEach((id, i) =>
      out.set(all.subarray(id * pool.classes, (id + 1) * pool.classes), i * pool.classes),
    );
    return out;
  };
  /** The pairs with unlearned weights released with N(0, sigma^2 I) noise. */
  const pairs = (sigma: number, noiseSeed: number): UnlearningPairs => {
    const rng = new Rng(noiseSeed);
    const noised = Float32Array.from(unlearned, (v) => v + sigma * rng.normal());
    return { original: probe(result.weights), unlearned: probe(noised), labels };
  };
  return { ids, pairs };
}

describe('MIA-U end to end (Hessian-free unlearning of logistic regression)', () => {
  it('detects forgotten samples without noise; noise on the unlearned weights pushes the AUC toward 0.5', async () => {
    const pool = randomLabels(1000, 50, 4, 21);
    const targets: Awaited<ReturnType<typeof unlearnedPair>>[] = [];
    const used = new Set<number>();
    for (let k = 0; k < 6; k++) {
      const t = await unlearnedPair(pool, 100 + k, 100, 15, used);
      targets.push(t);
      for (const id of t.ids) used.add(id);
    }
    const shadows = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((s) => unlearnedPair(pool, s, 100, 15, used)),
    );
    const concat = (ps: UnlearningPairs[]): UnlearningPairs => ({
      original: Float64Array.from(ps.flatMap((p) => Array.from(p.original))),
      unlearned: Float64Array.from(ps.flatMap((p) => Array.from(p.unlearned))),
      labels: ps.flatMap((p) => Array.from(p.labels)),
    });
    const auc = (
      sigma: number,
      feature: (typeof FEATURE_KINDS)[number],
      classifier: 'logistic' | 'mlp',
    ) => {
      // The attacker knows the mechanism: its shadow releases carry the same noise level.
      const shadow = concat(shadows.map((s, k) => s.pairs(sigma, deriveSeed(7, k))));
      return unlearningAttack(
        shadow,
        concat(targets.map((t, k) => t.pairs(sigma, deriveSeed(99, k)))),
        { classes: pool.classes, feature, classifier, seed: 1 },
      ).auc;
    };
    const spread = (sigma: number) => {
      const aucs = FEATURE_KINDS.flatMap((f) => [auc(sigma, f, 'logistic'), auc(sigma, f, 'mlp')]);
      return { aucs, meanDistance: aucs.reduce((a, v) => a + Math.abs(v - 0.5), 0) / aucs.length };
    };
    // 90 forgotten and 90 never-seen target pairs: the AUC's null standard deviation is about
    // sqrt(181 / (12 * 90^2)) = 0.043.
    const clean = spread(0);
    const some = spread(0.1);
    const heavy = spread(1);
    // Without noise the L2 distance between the posteriors gives the forgotten samples away.
    expect(auc(0, 'l2-distance', 'logistic')).toBeGreaterThan(0.7);
    expect(auc(0, 'l2-distance', 'mlp')).toBeGreaterThan(0.7);
    expect(clean.meanDistance).toBeGreaterThan(0.15);
    expect(some.meanDistance).toBeLessThan(clean.meanDistance);
    expect(heavy.meanDistance).toBeLessThan(some.meanDistance);
    // sigma = 1 is 10x the weights' scale: every attack within 3.5 standard deviations of chance.
    for (const a of heavy.aucs) expect(Math.abs(a - 0.5)).toBeLessThan(0.15);
  });
});

describe('unlearningAttack input checks', () => {
  const pairs: UnlearningPairs = {
    original: [0.9, 0.1, 0.5, 0.5, 0.2, 0.8],
    unlearned: [0.6, 0.4, 0.5, 0.5, 0.3, 0.7],
    labels: [1, 0, 0],
  };
  const options = {
    classes: 2,
    feature: 'direct-diff' as const,
    classifier: 'logistic' as const,
    seed: 0,
  };

  it('refuses to score the attack on its own training pairs', () => {
    expect(() => unlearningAttack(pairs, pairs, options)).toThrow(
      /target pairs are the shadow pairs/,
    );
    // Copies are the same samples: the guard compares content, not objects.
    const copy = {
      original: Float64Array.from(pairs.original),
      unlearned: Array.from(pairs.unlearned),
      labels: Array.from(pairs.labels),
    };
    expect(() => unlearningAttack(pairs, copy, options)).toThrow(
      /target pairs are the shadow pairs/,
    );
    // One shadow sample among new ones is refused too, naming it.
    const mixed = {
      original: [0.7, 0.3, 0.5, 0.5, 0.45, 0.55],
      unlearned: [0.65, 0.35, 0.5, 0.5, 0.4, 0.6],
      labels: [1, 0, 1],
    };
    expect(() => unlearningAttack(pairs, mixed, options)).toThrow(
      /1 of the 3 target pairs are shadow pairs \(target rows 1\)/,
    );
    // Saturated 0/1 rows identify no sample, so they do not count as shared.
    const hard = { original: [1, 0, 0, 1], unlearned: [1, 0, 0, 1], labels: [1, 0] };
    const newHard = { original: [1, 0, 0.3, 0.7], unlearned: [1, 0, 0.2, 0.8], labels: [1, 0] };
    expect(() => unlearningAttack(hard, newHard, options)).not.toThrow();
  });

  it('names mismatched labels and one-class targets', () => {
    const other = { ...pairs, unlearned: [0.61, 0.39, 0.49, 0.51, 0.31, 0.69] };
    expect(() => unlearningAttack(pairs, { ...other, labels: [1, 0] }, options)).toThrow(
      /target posteriors \(rows\) has 3 entries but target labels has 2/,
    );
    expect(() => unlearningAttack(pairs, { ...other, labels: [1, 1, 1] }, options)).toThrow(
      /target labels holds only members/,
    );
  });
});
