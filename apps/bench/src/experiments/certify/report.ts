import type { ExperimentOutput } from '../../experiment.js';
import { chart } from '../../svg.js';
import { markdownTable } from '../../table.js';
import type { CertifyFlags, CertifyRecord } from './run.js';

const shorten = (label: string) => (label.length > 28 ? `${label.slice(0, 26)}..` : label);

export function certifyOutput(flags: CertifyFlags, r: CertifyRecord): ExperimentOutput {
  const table = markdownTable(
    [
      'sensitivity model',
      'Delta',
      'epsilon',
      'sigma',
      'test acc',
      'forget acc',
      'distance to retrain',
      'audit epsilon (loss / projection)',
    ],
    r.rows.map((row) => [
      row.sensitivityModel,
      row.sensitivity,
      row.epsilon,
      row.sigma,
      row.testAccuracy,
      row.forgetAccuracy,
      row.distanceToRetrain,
      row.audit
        ? `${row.audit.lossAttack.toFixed(3)} / ${row.audit.projectionAttack.toFixed(3)}`
        : '',
    ]),
  );
  const capacity = markdownTable(
    ['per-release epsilon', 'basic', 'Renyi', 'GDP (continuous)', 'discrete, best'],
    r.capacity.rows.map((c) => [c.perReleaseEpsilon, c.basic, c.rdp, c.gdp, c.discreteBest]),
  );
  const budget = r.capacity.budget;
  const capacityText = `Online releases a total budget of (${budget.epsilon}, ${budget.delta}) admits, each release calibrated to the per-release epsilon at delta ${r.capacity.rows[0]?.perReleaseDelta}, by composition account (continuous Gaussian releases; the last column is the default discrete-Gaussian release, which the GDP account does not cover):\n\n${capacity}`;
  const verdict =
    r.certificateProblems.length === 0
      ? 'verifies'
      : `problems: ${r.certificateProblems.join('; ')}`;
  const grid = r.noise.grid;
  const noiseLine = grid
    ? `noise: ${r.noise.mechanism} on a grid of ${grid.gamma} (weight bound ${grid.weightBound}, ${grid.weightBoundProvenance}); sigma ${grid.loss.toFixed(4)}x the continuous Gaussian's`
    : `noise: ${r.noise.mechanism}`;
  const upperLine = r.rhoUpperBound
    ? ` For softmax regression rho also has a certified upper bound, from every step's Hessian at its recorded weights (a Cholesky factorisation proves each step's curvature bound): rho <= ${r.rhoUpperBound.value} over ${r.rhoUpperBound.steps} steps (worst at step ${r.rhoUpperBound.step}); its rows are certified with rho as measured, not assumed.`
    : '';
  const trusted = r.certificateAudit.trusted.map((t) => `- ${t}`).join('\n');
  const summary =
    `${noiseLine}\n` +
    `rho = ${r.rho.value} over ${r.rho.perStep.length} steps (converged: ${r.rho.converged}); T = ${r.stepCounts.T}, B = ${r.stepCounts.B}\n` +
    (r.rhoUpperBound
      ? `certified rho <= ${r.rhoUpperBound.value} (every step's Hessian; worst at step ${r.rhoUpperBound.step})\n`
      : '') +
    `unlearned (no noise) test accuracy ${r.reference.testAccuracy.unlearned}, retrain ${r.reference.testAccuracy.retrain}\n\n${table}\n` +
    `\ncertificate for epsilon = 1: ${verdict}`;
  const labels = [...new Set(r.rows.map((row) => row.sensitivityModel))];
  const series = labels.map((label) => ({
    name: shorten(label),
    points: r.rows
      .filter((row) => row.sensitivityModel === label && Number.isFinite(row.testAccuracy))
      .map((row) => [row.epsilon, row.testAccuracy] as const),
  }));
  series.push({
    name: 'unlearned, no noise',
    points: flags.epsilons.map((e) => [e, r.reference.testAccuracy.unlearned] as const),
  });
  return {
    result: r,
    markdown: `# certify: ${r.config.model} on ${flags.dataset}\n\n${table}\n\nThe audit epsilon is an empirical lower bound (95%, Clopper-Pearson) from releasing the unlearned and the retrained weights ${r.rows.find((row) => row.audit)?.audit?.trials ?? 0} times each with the row's noise and attacking the releases: by the loss on the forgotten samples, and by projection on the difference of the two weight vectors (a white-box attacker who knows both). The certified epsilon bounds it from above; the gap is the bound's slack. An accuracy of NaN means the noise is so large that the released model's logits overflow. The measured rho comes from power iteration, a lower bound on the spectral norm: its rows show the noise that bound would ask for and are not certified.${upperLine}\n\n${noiseLine}.\n\n${capacityText}\n\nCertificate for epsilon = 1 (rho = 1, bound to this run and the forgotten ids): ${verdict}. Taken on trust:\n\n${trusted}\n`,
    summary,
    plots: [
      {
        file: 'accuracy-vs-epsilon.svg',
        svg: chart(
          series.filter((s) => s.points.length > 0),
          {
            title: `Test accuracy of the certified release (delta = ${flags.delta})`,
            xLabel: 'epsilon',
            yLabel: 'test accuracy',
            logX: true,
          },
        ),
      },
    ],
    files: [{ file: 'certificate.json', content: `${JSON.stringify(r.certificate, null, 2)}\n` }],
  };
}
