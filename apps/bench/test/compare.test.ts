import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_METHODS, mergeCompare, QUICK, runCompare } from '../src/compare.js';

describe('bench compare --quick', () => {
  it('runs every method against retraining and writes result.json, result.md and plots', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-compare-'));
    try {
      const result = await runCompare({
        settings: ['logistic'],
        seed: 42,
        quick: true,
        workers: 1,
        backend: process.env.LETHE_BACKEND ?? 'wasm',
        out,
      });
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as typeof result;
      const names = saved.entries.map((e) => e.method);
      expect(names).toEqual(['original', 'retrain', ...ALL_METHODS]);
      for (const e of saved.entries) {
        expect(e.setting).toBe('logistic');
        expect(e.seeds).toHaveLength(QUICK.seeds);
        expect(e.perDeletion.map((p) => p.m)).toEqual([...QUICK.deletions]);
      }
      const byName = new Map(saved.entries.map((e) => [e.method, e]));
      const d = byName.get('newton')!.d;
      expect(byName.get('newton')!.prepare.bytes).toBe(d * d * 4);
      expect(byName.get('hessian-free')!.prepare.bytes).toBe(byName.get('hessian-free')!.n * d * 4);
      for (const p of byName.get('retrain')!.perDeletion) expect(p.distance.mean).toBe(0);
      // Unlearning with the approximators gets closer to retraining than doing nothing.
      for (const p of byName.get('hessian-free')!.perDeletion) expect(p.ratio.mean).toBeLessThan(1);
      // ... and the second-order refinement closer still.
      const first = byName.get('hessian-free')!.perDeletion;
      byName
        .get('hessian-free-2')!
        .perDeletion.forEach((p, i) =>
          expect(p.distance.mean).toBeLessThan(first[i]!.distance.mean),
        );
      const md = readFileSync(join(out, 'result.md'), 'utf8');
      expect(md).toContain('L2 distance to the retrained model');
      expect(readFileSync(join(out, 'distance-logistic.svg'), 'utf8')).toContain('<svg');
      expect(readFileSync(join(out, 'ratio-logistic.svg'), 'utf8')).toContain('hessian-free-2');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('merges runs made one seed per process into one report, and refuses repeats', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lethe-merge-'));
    const run = (seed: number, dir: string, deletions = [5, 10]) =>
      runCompare({
        settings: ['logistic'],
        seed,
        seeds: 1,
        deletions,
        methods: ['hessian-free', 'fine-tune'],
        quick: true,
        workers: 1,
        backend: process.env.LETHE_BACKEND ?? 'wasm',
        out: join(root, dir),
      });
    try {
      const a = await run(7, 'a');
      const b = await run(8, 'b');
      const merged = mergeCompare([join(root, 'a'), join(root, 'b')], join(root, 'm'));
      const hf = merged.entries.find((e) => e.method === 'hessian-free')!;
      expect(hf.seeds).toEqual([7, 8]);
      const single = (r: typeof a) => r.entries.find((e) => e.method === 'hessian-free')!;
      expect(hf.perDeletion[1]!.distance.values).toEqual([
        single(a).perDeletion[1]!.distance.mean,
        single(b).perDeletion[1]!.distance.mean,
      ]);
      expect(readFileSync(join(root, 'm', 'result.md'), 'utf8')).toContain('seeds 7, 8');
      expect(() => mergeCompare([join(root, 'a'), join(root, 'a')], undefined)).toThrow(
        /logistic seed 7 appears twice/,
      );
      await run(9, 'c', [5]);
      expect(() => mergeCompare([join(root, 'a'), join(root, 'c')], undefined)).toThrow(
        /differ in deletion counts/,
      );
      expect(() => mergeCompare([join(root, 'a'), join(root, 'nope')], undefined)).toThrow(
        /cannot read .*nope.*result\.json/,
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('rejects unknown settings and methods with the valid choices', async () => {
    await expect(runCompare({ settings: ['resnet'], seed: 1, quick: true })).rejects.toThrow(
      /unknown setting "resnet"; use logistic,cnn/,
    );
    await expect(
      runCompare({ settings: ['logistic'], methods: ['lbfgs'], seed: 1, quick: true }),
    ).rejects.toThrow(/unknown method "lbfgs"/);
    await expect(
      runCompare({ settings: ['logistic'], deletions: [0], seed: 1, quick: true }),
    ).rejects.toThrow(/--deletions: 0/);
  });
});
