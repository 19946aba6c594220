import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

describe('bench CLI', () => {
  it('verify --quick writes the documented result and the plots', () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-verify-'));
    const r = run('verify', '--quick', '--order', '2', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(result.backend).toMatch(/^(node|wasm|cpu)$/);
    expect(result.config.n).toBe(200);
    for (const key of ['hf', 'retrainShift', 'hfToCodeRetrain', 'hf2'])
      expect(result.distance[key]).toBeGreaterThan(0);
    // Unlearning moves the weights toward the retrained model, second order closer still.
    expect(result.distance.hf).toBeLessThan(result.distance.retrainShift);
    expect(result.distance.hf2).toBeLessThan(result.distance.hf);
    for (const split of ['test', 'forget', 'remain']) {
      for (const w of ['original', 'hf', 'retrain'])
        expect(result.accuracy[split][w]).toBeGreaterThanOrEqual(0);
    }
    expect(result.lossChange.pearson).toBeGreaterThan(0.5);
    expect(result.timing.unlearnMs.p99).toBeGreaterThan(0);
    expect(result.storage.bytes).toBe(200 * 7850 * 4);
    expect(readFileSync(join(out, 'loss-change.svg'), 'utf8')).toMatch(/^<svg/);
    expect(readFileSync(join(out, 'training-loss.svg'), 'utf8')).toMatch(/<path/);
  });

  it('kernels --quick measures the batched HMP against single products', () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-kernels-'));
    const r = run(
      'kernels',
      '--quick',
      '--models',
      'logistic',
      '--backends',
      'wasm',
      '--k',
      '64',
      '--out',
      out,
    );
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(result.backend).toBe('wasm');
    expect(result.results.map((e: { workers: number }) => e.workers)).toEqual([1, 2]);
    const one = result.results[0];
    for (const key of ['msPerVectorBatched', 'msPerVectorSingle', 'gflops', 'matmulGflops'])
      expect(one[key]).toBeGreaterThan(0);
  });

  it('bad flags fail with a message that names them', () => {
    const r = run('verify', '--model', 'nope', '--quick');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Unknown model "nope": registered models are logistic, mlp/);
    expect(run('verify', '--lr', 'fast').stderr).toMatch(/--lr expects a number, got "fast"/);
    expect(run('frobnicate').stderr).toMatch(/Unknown experiment "frobnicate"/);
    expect(run('verify', '--dataset', 'idx:/nonexistent').stderr).toMatch(/nonexistent/);
  });
});
