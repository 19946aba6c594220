import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKLEARN_DEBIAN_DATA_DIR } from '@lethe/datasets';
import { dataPresent } from '@lethe/vitest-config/data';
import { describe, expect, it } from 'vitest';
import { compare } from '../src/experiments/compare/index.js';
import type { PublishedComparison } from '../src/experiments/compare/published.js';
import type { SummaryEntry } from '../src/experiments/compare/report.js';
import { mia } from '../src/experiments/mia/index.js';
import { verify } from '../src/experiments/verify/index.js';
import { parseFlags } from '../src/flags.js';
import { runExperiment } from '../src/run-experiment.js';
import { PRESET_NAMES } from '../src/settings/index.js';
import { readTrainingFlags, resolveConfig } from '../src/setup.js';

const backend = process.env.LETHE_BACKEND ?? 'wasm';

describe('--setting', () => {
  const resolve = (args: string[]) => verify.resolve(parseFlags('verify', verify.flags, args));

  it("without it, verify keeps the paper's MNIST defaults; with it, the row's values", () => {
    const plain = resolve([]);
    expect(plain.setting).toBeUndefined();
    expect(resolveConfig(plain)).toEqual(resolveConfig({ ...plain, setting: 'mnist-logistic' }));
    expect(plain.forget).toBe(50);
    expect(plain.lazy).toBe(false);
    const cnn = resolve(['--model', 'cnn']);
    expect(resolveConfig(cnn)).toEqual(resolveConfig({ ...cnn, setting: 'mnist-cnn' }));

    const wine = resolve(['--setting', 'wine-mlp']);
    expect(wine.model).toBe('mlp');
    expect(wine.dataset).toBe(`csv:${SKLEARN_DEBIAN_DATA_DIR}/wine_data.csv`);
    expect(wine.forget).toBe(7);
    expect(resolveConfig(wine)).toEqual({
      n: 142,
      config: {
        epochs: 40,
        batchSize: 64,
        lr: 0.01,
        lrDecay: 0.9995,
        clip: 10,
        l2: 0.005,
        seed: 42,
      },
    });
    const fmnist = resolve(['--setting', 'fmnist-lenet']);
    expect([fmnist.model, fmnist.dataset, fmnist.lazy, fmnist.forget]).toEqual([
      'lenet',
      'fashion-mnist',
      true,
      40,
    ]);
    expect(resolveConfig(fmnist).n).toBe(4000);
  });

  it('explicit flags override the named setting', () => {
    const f = resolve(['--setting', 'fmnist-cnn', '--n', '500', '--lr', '0.1', '--forget', '5']);
    const { n, config } = resolveConfig(f);
    expect([n, config.lr, config.epochs, config.clip, f.forget]).toEqual([500, 0.1, 30, 0.5, 5]);
    const table = parseFlags('verify', verify.flags, [
      '--setting',
      'wine-mlp',
      '--model',
      'logistic',
    ]);
    expect(readTrainingFlags(table).model).toBe('logistic');
  });

  it('an unknown name is refused with the list of valid ones', () => {
    expect(() => resolve(['--setting', 'cifar'])).toThrow(
      new RegExp(`"cifar" is not one of ${PRESET_NAMES.join(', ')}`),
    );
    expect(() =>
      compare.resolve(
        parseFlags('compare', compare.flags, ['--setting', 'wine-mlp', '--settings', 'cnn']),
      ),
    ).toThrow(/give one of them/);
  });
});

const winePresent = dataPresent(SKLEARN_DEBIAN_DATA_DIR, 'python3-sklearn');

describe.skipIf(!winePresent)('bench compare --setting wine-mlp --quick', () => {
  it('mia on Wine names the pool it cannot draw', async () => {
    await expect(
      runExperiment(mia, ['--setting', 'wine-mlp', '--forget', '10', '--backend', backend]),
    ).rejects.toThrow(/pool of 2n = 284 samples .* has 142 training samples: pass --n <= 71/);
  });

  // The Wine MLP for 3 epochs, 2 of the authors' seeds, 7 and 14 deletions. Measured at the
  // full setting (40 epochs, 6 seeds; docs/results/compare-wine): distance to the |B| retrain
  // 0.0034 / 0.0068 for Hessian-free, 0.026 / 0.043 Newton step, 0.028 / 0.049 jackknife.
  it('Hessian-free is closest to retraining, and the published table stands beside it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-wine-'));
    try {
      await runExperiment(compare, [
        ...['--setting', 'wine-mlp', '--quick', '--methods', 'hessian-free,newton,jackknife'],
        ...['--backend', backend, '--out', out],
      ]);
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
        entries: SummaryEntry[];
        published: PublishedComparison[];
      };
      const at = (method: string) => saved.entries.find((e) => e.method === method)!;
      expect(at('hessian-free').seeds).toEqual([42, 124]);
      expect(at('hessian-free').n).toBe(142);
      expect(at('hessian-free').d).toBe(1091);
      for (const [i, m] of [7, 14].entries()) {
        const hf = at('hessian-free').perDeletion[i]!;
        expect(hf.m).toBe(m);
        for (const other of ['newton', 'jackknife', 'original']) {
          expect(hf.distance.mean).toBeLessThan(at(other).perDeletion[i]!.distance.mean);
        }
      }
      const [table] = saved.published;
      expect(table!.setting).toBe('wine-mlp');
      expect(table!.rows).toHaveLength(6);
      for (const r of table!.rows) expect(r.lethe).not.toBeNull();
      const md = readFileSync(join(out, 'result.md'), 'utf8');
      expect(md).toMatch(/authors' published table beside Lethe's/);
      expect(md).toMatch(/0\.0426 ± 0\.0131/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
