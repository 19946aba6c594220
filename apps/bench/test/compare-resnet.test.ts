import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compare } from '../src/experiments/compare/index.js';
import { RESNET } from '../src/experiments/compare/options.js';
import type { SummaryEntry } from '../src/experiments/compare/report.js';
import { runExperiment } from '../src/run-experiment.js';

const backend = process.env.LETHE_BACKEND ?? 'wasm';

describe('bench compare --quick --settings resnet', () => {
  it('lazy Hessian-free unlearning lands closer to retraining than fine-tune and negative gradient', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-compare-resnet-'));
    try {
      await runExperiment(compare, [
        '--quick',
        '--settings',
        'resnet',
        '--backend',
        backend,
        '--out',
        out,
      ]);
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as {
        entries: SummaryEntry[];
      };
      const byName = new Map(saved.entries.map((e) => [e.method, e]));
      expect([...byName.keys()]).toEqual(['original', 'retrain', ...RESNET.methods]);
      const hf = byName.get('hessian-free')!;
      expect(hf.d).toBe(19_810);
      expect(hf.n).toBe(RESNET.quick.n);
      const distance = (method: string) => byName.get(method)!.perDeletion[0]!.distance.mean;
      expect(byName.get('hessian-free')!.perDeletion.map((p) => p.m)).toEqual([
        ...RESNET.quick.deletions,
      ]);
      expect(distance('retrain')).toBe(0);
      expect(distance('hessian-free')).toBeGreaterThan(0);
      // Measured at seed 42: hessian-free ~0.06 of the original model's distance, fine-tune
      // and negative gradient above it (they move the weights by other objectives).
      expect(distance('hessian-free')).toBeLessThan(distance('original'));
      for (const other of ['fine-tune', 'negative-gradient']) {
        expect(distance('hessian-free')).toBeLessThan(distance(other));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
