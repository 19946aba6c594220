import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mia } from '../src/experiments/mia/index.js';
import { MIA_DEFAULTS } from '../src/experiments/mia/options.js';
import type { MiaMeasurement } from '../src/experiments/mia/run.js';
import { runExperiment } from '../src/run-experiment.js';
import { expectNoMachinePaths, expectValidResult } from './result-schema.js';

/** result.json: the experiment's record, its name and the writer's metadata. */
type Saved = MiaMeasurement['result'] & {
  experiment: string;
  run: { versions: Record<string, string> };
};

describe('bench mia on a target that memorises', () => {
  // 100 real MNIST digits, 30 epochs, almost no L2: the logistic model (d = 7850) fits its
  // members, so the attacks have something to find. Measured over --seed 1, 2, 3 (quick
  // shadows): LiRA (online, global variance) AUC 0.918-0.942; MIA-U with sorted-concat features
  // and a logistic attack 0.96-0.99 at sigma = 0 and 0.68-0.77 at sigma = 0.03; test accuracy
  // 0.72-0.74 un-noised and below 0.13 at the largest sigma.
  it('LiRA finds members, MIA-U finds forgotten samples, and noise weakens MIA-U', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-mia-memorise-'));
    try {
      await runExperiment(mia, [
        '--quick',
        ...['--dataset', 'mnist', '--n', '100', '--epochs', '30', '--l2', '0.0001'],
        ...['--forget', '20', '--seed', '2'],
        ...['--backend', process.env.LETHE_BACKEND ?? 'wasm', '--out', out],
      ]);
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Saved;
      // Chance is 0.5 with a null standard deviation of 0.04 (LiRA) and 0.09 (MIA-U) here.
      expect(saved.lira[0]!.auc).toBeGreaterThan(0.75);
      const sortedConcat = (sigma: number) =>
        saved.miaU
          .find((l) => l.sigma === sigma)!
          .attacks.find((a) => a.feature === 'sorted-concat' && a.classifier === 'logistic')!.auc;
      expect(sortedConcat(0)).toBeGreaterThan(0.85);
      expect(sortedConcat(0) - sortedConcat(0.03)).toBeGreaterThan(0.1);
      const accuracy = saved.miaU.map((l) => l.testAccuracy);
      expect(accuracy[0]).toBeGreaterThan(0.6);
      expect(accuracy.at(-1)).toBeLessThan(0.3);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('bench mia --quick', () => {
  it('runs LiRA and MIA-U at every noise level and writes result.json, result.md and the plots', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-mia-'));
    try {
      await runExperiment(mia, [
        '--quick',
        '--rho-steps',
        '2',
        '--backend',
        process.env.LETHE_BACKEND ?? 'wasm',
        '--out',
        out,
      ]);
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Saved;
      expect(saved.experiment).toBe('mia');
      expectValidResult(saved);
      expectNoMachinePaths(readFileSync(join(out, 'result.json'), 'utf8'));
      expect(saved.backend).toMatch(/^(node|wasm|cpu)$/);
      expect(saved.config).toMatchObject({ n: 200, poolSize: 400, shadows: 4, forget: 20 });
      expect(saved.config.attackPairs).toEqual({ shadow: 80, target: 40 });
      // rho measured on two steps of the target's run, and used by the bound.
      expect(saved.sensitivity.rhoMeasurement!.perStep).toHaveLength(2);
      expect(saved.sensitivity.rho).toBe(saved.sensitivity.rhoMeasurement!.value);
      expect(saved.sensitivity.value).toBeGreaterThan(0);
      expect(saved.run.versions['@lethe/evaluate']).toMatch(/^\d+\.\d+\.\d+/);
      expect(saved.lira.map((l) => l.name)).toHaveLength(3);
      expect(saved.aucNullStd.miaU).toBeCloseTo(Math.sqrt(41 / (12 * 20 * 20)), 12);
      for (const l of saved.lira) {
        expect(l.auc).toBeGreaterThanOrEqual(0);
        expect(l.auc).toBeLessThanOrEqual(1);
        expect(l.tprAt01pctFpr).toBeLessThanOrEqual(l.tprAt1pctFpr);
      }
      // sigma 0, one level per epsilon, one per extra sigma; sorted; epsilon falls as sigma grows.
      const levels = saved.miaU;
      expect(levels).toHaveLength(1 + MIA_DEFAULTS.epsilons.length + MIA_DEFAULTS.sigmas.length);
      expect(levels[0]!.sigma).toBe(0);
      expect(levels[0]!.epsilon).toBeNull(); // Infinity in JSON
      for (let i = 2; i < levels.length; i++) {
        expect(levels[i]!.sigma).toBeGreaterThan(levels[i - 1]!.sigma);
        expect(levels[i]!.epsilon).toBeLessThan(levels[i - 1]!.epsilon!);
      }
      for (const e of MIA_DEFAULTS.epsilons) {
        const level = levels.find((l) => l.from === 'epsilon' && l.epsilon === e)!;
        expect(level.sigma).toBeGreaterThan(0);
      }
      for (const level of levels) {
        expect(level.attacks).toHaveLength(10); // 5 features x 2 classifiers
        for (const a of level.attacks) {
          expect(a.auc).toBeGreaterThanOrEqual(0);
          expect(a.auc).toBeLessThanOrEqual(1);
        }
      }
      // Noise costs accuracy: the noisiest release is worse than the noise-free one.
      expect(levels.at(-1)!.testAccuracy).toBeLessThan(levels[0]!.testAccuracy);
      expect(levels[0]!.testAccuracy).toBeGreaterThan(0.9);
      const md = readFileSync(join(out, 'result.md'), 'utf8');
      expect(md).toContain('## MIA-L (LiRA)');
      expect(md).toContain('sorted-concat mlp');
      for (const svg of [
        'lira-roc',
        'mia-u-roc',
        'mia-u-auc-logistic',
        'mia-u-auc-mlp',
        'accuracy-vs-sigma',
      ])
        expect(readFileSync(join(out, `${svg}.svg`), 'utf8')).toMatch(/^<svg[\s\S]*<path/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('the CLI refuses bad flags with a message that names them', () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'mia', '--quick', ...args], { encoding: 'utf8' });
    expect(run('--shadows', '3').stderr).toMatch(/--shadows 3 must be even/);
    expect(run('--forget', '90').stderr).toMatch(/--forget 90 must be an integer in \[1, 50\]/);
    expect(run('--sigmas', 'x').stderr).toMatch(/--sigmas expects a number, got "x"/);
  });
});
