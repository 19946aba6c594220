import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { certify } from '../src/experiments/certify/index.js';
import type { CertifyRecord } from '../src/experiments/certify/run.js';
import { runExperiment } from '../src/run-experiment.js';
import { expectNoMachinePaths, expectValidResult } from './result-schema.js';

/** result.json: the experiment's record and the writer's metadata. */
type Saved = CertifyRecord & { experiment: string };

const EPSILONS = [1, 10, 100, 1000, 10000];

describe('bench certify --quick', () => {
  // --quick (logistic on 200 MNIST digits) with epsilons up to 1e4, where the noise becomes small
  // enough to leave the model intact; two draws per epsilon. Measured over --seed 1..5 and 42
  // (rho = 1 rows): test accuracy of the release 0.055-0.151 at epsilon 1 (chance is 0.1),
  // 0.490-0.562 at 100, 0.667-0.756 at 1e4, within 0.009 of the un-noised unlearned model's
  // (0.671-0.753); the drop from 1e4 to 100 is 0.113-0.241 and from 100 to 1 is 0.364-0.507.
  // The distance to retraining shrinks 3.3-7.8x per tenfold epsilon (185 at 1, 0.34 at 1e4).
  it('the certified release loses accuracy as epsilon falls, and its certificate verifies', async () => {
    const out = mkdtempSync(join(tmpdir(), 'lethe-certify-'));
    try {
      await runExperiment(certify, [
        '--quick',
        ...['--epsilons', EPSILONS.join(','), '--draws', '2', '--rho-steps', '1'],
        ...['--backend', process.env.LETHE_BACKEND ?? 'wasm', '--out', out],
      ]);
      const saved = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')) as Saved;
      expect(saved.experiment).toBe('certify');
      expectValidResult(saved);
      expectNoMachinePaths(readFileSync(join(out, 'result.json'), 'utf8'));
      const rows = saved.rows.filter((r) => r.sensitivityModel.startsWith('paper bound, rho = 1 '));
      expect(rows.map((r) => r.epsilon)).toEqual(EPSILONS);
      const acc = (epsilon: number) => rows.find((r) => r.epsilon === epsilon)!.testAccuracy;
      for (let i = 1; i < rows.length; i++) {
        // Less privacy, less noise: sigma falls and the release nears the retrained model.
        expect(rows[i]!.sigma).toBeLessThan(rows[i - 1]!.sigma);
        expect(rows[i]!.distanceToRetrain).toBeLessThan(rows[i - 1]!.distanceToRetrain / 2);
      }
      expect(acc(1)).toBeLessThan(0.25);
      expect(acc(100) - acc(1)).toBeGreaterThan(0.25);
      expect(acc(10000) - acc(100)).toBeGreaterThan(0.05);
      expect(Math.abs(acc(10000) - saved.reference.testAccuracy.unlearned)).toBeLessThan(0.03);
      // The measured rho is a power-iteration lower bound: its rows are marked uncertified.
      const measured = saved.rows.filter((r) => r.sensitivityModel.includes('measured rho'));
      expect(measured).toHaveLength(EPSILONS.length);
      for (const r of measured) expect(r.sensitivityModel).toContain('no certificate');
      // rho from every step's Hessian, proven from above, is at least power iteration's lower
      // estimate at the sampled steps (to float32 Hessian products' precision).
      expect(saved.rhoUpperBound!.value).toBeGreaterThanOrEqual(saved.rho.value * (1 - 1e-4));
      expect(saved.rhoUpperBound!.steps).toBeGreaterThan(saved.rho.perStep.length);
      // The epsilon-1 certificate verifies against the run, the ids and the accountant.
      expect(saved.certificateProblems).toEqual([]);
      expect(saved.certificateAudit.checked.join('\n')).toMatch(/privacy: sigma meets/);
      expect(saved.certificate.epsilon).toBe(1);
      const written = JSON.parse(readFileSync(join(out, 'certificate.json'), 'utf8'));
      expect(written).toEqual(saved.certificate);
      expect(readFileSync(join(out, 'accuracy-vs-epsilon.svg'), 'utf8')).toMatch(/^<svg/);
      // The audit: what attacks show never exceeds what is certified, and once the noise is
      // small (epsilon 1e4) the white-box projection test does show something.
      for (const r of rows) {
        expect(r.audit).not.toBeNull();
        expect(r.audit!.lossAttack).toBeLessThanOrEqual(r.epsilon);
        expect(r.audit!.projectionAttack).toBeLessThanOrEqual(r.epsilon);
      }
      expect(rows.at(-1)!.audit!.projectionAttack).toBeGreaterThan(1);
      for (const r of measured) expect(r.audit).toBeNull();
      // Releases a budget admits: the exact GDP account never admits fewer than Renyi, and
      // for small per-release epsilons both admit more than the basic sums do.
      for (const c of saved.capacity.rows) {
        expect(c.gdp).toBeGreaterThanOrEqual(c.rdp);
        // Without it, 'best' admits what the better of the other two admits.
        expect(c.discreteBest).toBe(Math.max(c.basic, c.rdp));
      }
      const smallest = saved.capacity.rows[0]!;
      expect(smallest.gdp).toBeGreaterThan(smallest.basic);
      // The per-request bound: the exact retraining inside it, for the forgotten set and every
      // checked set, and releases calibrated to it far more accurate than the paper bound's.
      const pr = saved.perRequestBound;
      if (!pr.proven) throw new Error(`expected a per-request bound: ${pr.reason}`);
      expect(pr.certified).toBe(true);
      for (const order of [pr.firstOrder, pr.secondOrder]) {
        expect(order.trueDistance).toBeGreaterThan(0);
        expect(order.bound).toBeGreaterThanOrEqual(order.trueDistance);
      }
      expect(pr.adversarial.sets).toBe(8);
      expect(pr.adversarial.violations).toBe(0);
      const at = (bound: string, epsilon: number) =>
        saved.accuracyAtEpsilon.find((r) => r.bound === bound && r.epsilon === epsilon)!
          .testAccuracy;
      expect(at('per-request-2', 100)).toBeGreaterThan(at('paper-rho1', 100) + 0.1);
      expect(saved.unnoisedTestAccuracy.secondOrder).not.toBeNull();
      expect(saved.audit.epsilonLower).not.toBeNull();
      expect(saved.audit.epsilonLower!.value).toBeLessThanOrEqual(1);
      expect(readFileSync(join(out, 'bound-vs-true-distance.svg'), 'utf8')).toMatch(/^<svg/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
