import { useBackend } from '@lethe/autodiff';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  attackMetrics,
  liraScores,
  logitScaledConfidence,
  type ShadowSet,
  shadowMemberships,
  trainShadows,
} from '../src/index.js';
import { logisticFor, logitsOn, OVERFIT, randomLabels, trainOn } from './fixtures.js';

beforeAll(async () => {
  await useBackend(process.env.LETHE_BACKEND ?? 'wasm');
});

describe('logitScaledConfidence', () => {
  it('equals log p_y - log sum_{others} p computed from probabilities', () => {
    const logits = [1, -2, 0.5, 3, 0.1, 0.2, -1, 4, 2];
    const labels = [0, 2, 1];
    const got = logitScaledConfidence(logits, labels, 3);
    labels.forEach((y, i) => {
      const row = logits.slice(3 * i, 3 * i + 3);
      const e = row.map(Math.exp);
      const sum = e.reduce((a, b) => a + b, 0);
      const p = e.map((v) => v / sum);
      const expected = Math.log(p[y]!) - Math.log(1 - p[y]!);
      expect(got[i]).toBeCloseTo(expected, 12);
    });
  });

  it('stays finite where probabilities round to 0 or 1', () => {
    const got = logitScaledConfidence([1000, 0, 0, -1000, 0, 0], [0, 0], 3);
    expect(got[0]).toBeCloseTo(1000 - Math.log(2), 9);
    expect(got[1]).toBeCloseTo(-1000 - Math.log(2), 9);
  });

  it('refuses bad labels and shapes, naming the fix', () => {
    expect(() => logitScaledConfidence([1, 2, 3], [0], 2)).toThrow(/not a multiple of classes = 2/);
    expect(() => logitScaledConfidence([1, 2], [2], 2)).toThrow(/labels\[0\] is 2.*\[0, 1\]/);
    expect(() => logitScaledConfidence([1, Number.NaN], [0], 2)).toThrow(/logits\[1\] is NaN/);
    expect(() => logitScaledConfidence([1, 2], [0, 1], 2)).toThrow(/1 rows of logits but 2 labels/);
  });
});

describe('shadowMemberships', () => {
  it('puts every sample in exactly half of the shadows, about half the pool in each', () => {
    const members = shadowMemberships(500, 8, 3);
    for (let i = 0; i < 500; i++) expect(members.reduce((a, m) => a + m[i]!, 0)).toBe(4);
    for (const m of members) {
      const size = m.reduce((a, b) => a + b, 0);
      expect(Math.abs(size - 250)).toBeLessThan(45); // 4 standard deviations of Binomial(500, 1/2)
    }
    expect(shadowMemberships(500, 8, 3)).toEqual(members);
    expect(shadowMemberships(500, 8, 4)).not.toEqual(members);
    expect(() => shadowMemberships(10, 3, 0)).toThrow(/even number >= 2/);
  });
});

describe('trainShadows', () => {
  it('names the shadow whose trainer returned bad logits', async () => {
    const options = { poolSize: 3, labels: [0, 1, 0], classes: 2, count: 2, seed: 0 };
    await expect(trainShadows({ ...options, train: () => [0, 1, 0, 1] })).rejects.toThrow(
      /shadow 0's trainer returned 4 logits; .* 3 x 2 = 6 values/,
    );
    await expect(
      trainShadows({ ...options, train: (_ids, s) => [0, 1, 0, 1, 0, s === 1 ? Number.NaN : 1] }),
    ).rejects.toThrow(/trainShadows: shadow 1: logitScaledConfidence: logits\[5\] is NaN/);
    const ok = await trainShadows({ ...options, train: (ids) => [0, 1, 1, 0, 0, ids.length] });
    expect(ok.members.map((m) => Array.from(m))).toEqual(
      shadowMemberships(3, 2, 0).map((m) => Array.from(m)),
    );
    expect(ok.confidences).toHaveLength(2);
  });
});

describe('liraScores', () => {
  const shadows: ShadowSet = {
    poolSize: 2,
    members: [Uint8Array.of(1, 0), Uint8Array.of(0, 1), Uint8Array.of(1, 0), Uint8Array.of(0, 1)],
    confidences: [
      Float64Array.of(3, 0),
      Float64Array.of(1, 2),
      Float64Array.of(5, 0),
      Float64Array.of(-1, 4),
    ],
  };
  // Sample 0: in {3, 5} (mean 4, var 2), out {1, -1} (mean 0, var 2).
  // Sample 1: in {2, 4} (mean 3, var 2), out {0, 0} (mean 0, var 0).

  it('per-example online scores are the Gaussian log-likelihood ratio', () => {
    const s = liraScores(shadows, [4, 1], { variance: 'per-example', minVariance: 0.5 });
    const logN = (x: number, m: number, v: number) =>
      -0.5 * (Math.log(2 * Math.PI * v) + (x - m) ** 2 / v);
    expect(s[0]).toBeCloseTo(logN(4, 4, 2) - logN(4, 0, 2), 12);
    expect(s[1]).toBeCloseTo(logN(1, 3, 2) - logN(1, 0, 0.5), 12); // out variance floored
  });

  it("global variance pools the deviations around each sample's means; offline is a z-score", () => {
    // in: deviations (-1, 1, -1, 1) -> 4 / 2 = 2; out: (1, -1, 0, 0) -> 2 / 2 = 1.
    const logN = (x: number, m: number, v: number) =>
      -0.5 * (Math.log(2 * Math.PI * v) + (x - m) ** 2 / v);
    const s = liraScores(shadows, [4, 1]);
    expect(s[0]).toBeCloseTo(logN(4, 4, 2) - logN(4, 0, 1), 12);
    expect(s[1]).toBeCloseTo(logN(1, 3, 2) - logN(1, 0, 1), 12);
    const off = liraScores(shadows, [4, 1], {
      variant: 'offline',
      variance: 'per-example',
      minVariance: 0.25,
    });
    expect(Array.from(off)).toEqual([(4 - 0) / Math.sqrt(2), (1 - 0) / 0.5]);
  });

  it('refuses a target of the wrong length, NaN confidences and samples never held out', () => {
    expect(() => liraScores(shadows, [1])).toThrow(
      /1 confidences but the shadows cover a pool of 2/,
    );
    expect(() => liraScores(shadows, [1, Number.NaN])).toThrow(/target confidences\[1\] is NaN/);
    const always = { ...shadows, members: shadows.members.map(() => Uint8Array.of(1, 0)) };
    expect(() => liraScores(always, [1, 1])).toThrow(
      /pool sample 0 is in every shadow's training set/,
    );
  });
});

describe('LiRA end to end (logistic regression on @lethe/autodiff)', () => {
  const SHADOWS = 16;

  async function run(
    pool: ReturnType<typeof randomLabels>,
    trainer: (ids: Int32Array, s: number) => Float32Array,
    targetMembers: Uint8Array,
  ) {
    const shadows = await trainShadows({
      poolSize: pool.n,
      labels: pool.y,
      classes: pool.classes,
      count: SHADOWS,
      seed: 11,
      train: trainer,
    });
    const targetIds = Int32Array.from(
      Array.from({ length: pool.n }, (_, i) => i).filter((i) => targetMembers[i] === 1),
    );
    const target = logitScaledConfidence(trainer(targetIds, 1000), pool.y, pool.classes);
    return (options: Parameters<typeof liraScores>[2]) =>
      attackMetrics(liraScores(shadows, target, options), targetMembers);
  }

  it('finds the members of a model that memorised them (AUC clearly > 0.5)', async () => {
    // 100 members in 50 dimensions with 4 random labels, no regularisation: the model fits them.
    const pool = randomLabels(200, 50, 4, 5);
    const model = logisticFor(pool);
    const trainer = (ids: Int32Array, s: number) =>
      logitsOn(model, trainOn(model, pool, ids, OVERFIT, s).weights, pool);
    const targetMembers = shadowMemberships(pool.n, 2, 99)[0]!;
    const metrics = await run(pool, trainer, targetMembers);
    const online = metrics({});
    const perExample = metrics({ variance: 'per-example' });
    const offline = metrics({ variant: 'offline' });
    expect(online.auc).toBeGreaterThan(0.8);
    expect(perExample.auc).toBeGreaterThan(0.8);
    expect(offline.auc).toBeGreaterThan(0.8);
    expect(online.tprAt1pctFpr).toBeGreaterThan(0.1);
  });

  it('is at chance when members and non-members are exchangeable (|AUC - 0.5| < 0.06)', async () => {
    // Every model trains on the same 100 public samples (seeded differently), never on the pool:
    // the "membership" labels are noise. With 500 + 500 samples the AUC's null standard
    // deviation is sqrt(1001 / (12 * 500^2)) = 0.018, so 0.06 is 3.3 of them.
    const pool = randomLabels(1100, 30, 4, 6);
    const poolView = {
      ...pool,
      n: 1000,
      x: pool.x.subarray(0, 1000 * 30),
      y: pool.y.subarray(0, 1000),
    };
    const publicIds = Array.from({ length: 100 }, (_, i) => 1000 + i);
    const model = logisticFor(pool);
    const trainer = (_ids: Int32Array, s: number) =>
      logitsOn(model, trainOn(model, pool, publicIds, OVERFIT, s).weights, poolView);
    const targetMembers = shadowMemberships(1000, 2, 98)[0]!;
    const metrics = await run(poolView, trainer, targetMembers);
    for (const options of [
      {},
      { variance: 'per-example' as const },
      { variant: 'offline' as const },
    ]) {
      const auc = metrics(options).auc;
      expect(Math.abs(auc - 0.5)).toBeLessThan(0.06);
    }
  });
});
