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
  const pr = r.perRequestBound;
  const perRequestText = !pr.proven
    ? `Per-request bound: not computed (${pr.reason}).`
    : perRequestMarkdown(pr);
  const summary =
    `${noiseLine}\n` +
    `rho = ${r.rho.value} over ${r.rho.perStep.length} steps (converged: ${r.rho.converged}); T = ${r.stepCounts.T}, B = ${r.stepCounts.B}\n` +
    (r.rhoUpperBound
      ? `certified rho <= ${r.rhoUpperBound.value} (every step's Hessian; worst at step ${r.rhoUpperBound.step})\n`
      : '') +
    `unlearned (no noise) test accuracy ${r.reference.testAccuracy.unlearned}, retrain ${r.reference.testAccuracy.retrain}\n\n${table}\n` +
    `\ncertificate for epsilon = 1: ${verdict}` +
    (pr.proven
      ? `\nper-request bound (docs/derivations/removal-bound.md): first order ${pr.firstOrder.bound.toExponential(3)} (true ${pr.firstOrder.trueDistance.toExponential(3)}, ${pr.firstOrder.tightness.toFixed(2)}x), second order ${pr.secondOrder.bound.toExponential(3)} (true ${pr.secondOrder.trueDistance.toExponential(3)}, ${pr.secondOrder.tightness.toFixed(2)}x); exact prefix ${pr.exactPrefix} of ${pr.steps} steps; ${pr.adversarial.sets} deletion sets checked, ${pr.adversarial.violations} outside the bound`
      : '');
  const labels = [...new Set(r.rows.map((row) => row.sensitivityModel))];
  // The legend names a bound by its short name in result.json where it has one.
  const legend = (label: string) =>
    r.rows.find((row) => row.sensitivityModel === label)?.bound ?? shorten(label);
  const series = labels.map((label) => ({
    name: legend(label),
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
    markdown: `# certify: ${r.config.model} on ${flags.dataset}\n\n${table}\n\n${perRequestText}\n\nThe audit epsilon is an empirical lower bound (95%, Clopper-Pearson) from releasing the unlearned and the retrained weights ${r.rows.find((row) => row.audit)?.audit?.trials ?? 0} times each with the row's noise and attacking the releases: by the loss on the forgotten samples, and by projection on the difference of the two weight vectors (a white-box attacker who knows both). The certified epsilon bounds it from above; the gap is the bound's slack. An accuracy of NaN means the noise is so large that the released model's logits overflow. The measured rho comes from power iteration, a lower bound on the spectral norm: its rows show the noise that bound would ask for and are not certified.${upperLine}\n\n${noiseLine}.\n\n${capacityText}\n\nCertificate for epsilon = 1 (rho = 1, bound to this run and the forgotten ids): ${verdict}. Taken on trust:\n\n${trusted}\n`,
    summary,
    plots: [
      ...(pr.proven && pr.adversarial.rows.length > 0
        ? [
            {
              file: 'bound-vs-true-distance.svg',
              svg: chart(
                (['firstOrder', 'secondOrder'] as const).map((order) => ({
                  name: order === 'firstOrder' ? 'first order' : 'second order',
                  style: 'points' as const,
                  points: pr.adversarial.rows
                    .filter((row) => row.certified && row[order].trueDistance > 0)
                    .map((row) => [row[order].trueDistance, row[order].bound] as const),
                })),
                {
                  title: `Per-request bound vs exact distance (${pr.adversarial.sets} sets)`,
                  xLabel: 'distance to exact retraining',
                  yLabel: 'bound',
                  logX: true,
                  logY: true,
                  diagonal: true,
                },
              ),
            },
          ]
        : []),
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

function perRequestMarkdown(
  pr: Extract<CertifyRecord['perRequestBound'], { proven: true }>,
): string {
  const orders = markdownTable(
    ['weights', 'bound', 'distance to exact retraining', 'bound / distance'],
    [
      [
        'first order (stored approximators)',
        pr.firstOrder.bound,
        pr.firstOrder.trueDistance,
        pr.firstOrder.tightness,
      ],
      ['second order', pr.secondOrder.bound, pr.secondOrder.trueDistance, pr.secondOrder.tightness],
    ],
  );
  const byKind = new Map<string, typeof pr.adversarial.rows>();
  for (const row of pr.adversarial.rows)
    byKind.set(row.kind, [...(byKind.get(row.kind) ?? []), row]);
  const kinds = markdownTable(
    [
      'deletion sets',
      'count',
      'sizes',
      'outside the bound',
      'median bound / distance, first / second order',
      'median exact prefix',
    ],
    [...byKind].map(([kind, rows]) => {
      const certified = rows.filter((row) => row.certified);
      const mid = (f: (row: (typeof rows)[number]) => number) => {
        const v = certified.map(f).sort((a, b) => a - b);
        return v.length === 0 ? Number.NaN : v[Math.floor(v.length / 2)]!;
      };
      return [
        kind,
        rows.length,
        `${Math.min(...rows.map((row) => row.size))}..${Math.max(...rows.map((row) => row.size))}`,
        // Uncertified sets have an infinite bound (null in result.json): nothing to violate.
        certified.filter(
          (row) =>
            row.firstOrder.trueDistance > row.firstOrder.bound ||
            row.secondOrder.trueDistance > row.secondOrder.bound,
        ).length,
        `${mid((row) => row.firstOrder.tightness).toFixed(2)} / ${mid((row) => row.secondOrder.tightness).toFixed(2)}`,
        mid((row) => row.exactPrefix),
      ];
    }),
  );
  const c = pr.cost;
  return `## Per-request bound (docs/derivations/removal-bound.md)

For the forgotten set: ${
    pr.exactPrefix === pr.steps
      ? `no shorter prefix carried the bound, so the exact retraining (float64) was replayed for all ${pr.steps} steps: the bound is the exact distance.`
      : `the exact retraining (float64) replayed for the first ${pr.exactPrefix} of ${pr.steps} steps, then the bound carried along the run.`
  }${pr.certified ? '' : ` Not certified: ${pr.refusal}`}

${orders}

Cost: ${c.passes} batch passes against ${c.retrainPasses} for one retraining (${(c.passes / c.retrainPasses).toFixed(1)}x), ${c.boundSeconds.toFixed(2)} s against ${c.retrainSeconds.toFixed(2)} s for the float64 retraining (${(c.boundSeconds / c.retrainSeconds).toFixed(1)}x); the run's constants (once per run) ${c.constantsSeconds.toFixed(1)} s. Apart from the bound, recomputing the second-order unlearned weights along the run took ${c.releasePasses} passes and ${c.releaseSeconds.toFixed(2)} s (an engine that stores second-order vectors reads them instead). The float32 retraining differs from the exact one by ${pr.float32Retrain.toExponential(2)}, which the bound does not cover. A bound carried by stored norms alone (no replay) would multiply an error by the product of the steps' factors max(|1 - eta lambda|, |1 - eta (lambda + mu_t)|): 10^${pr.stepFactors.log10WholeRun.toFixed(1)} over the run, 10^${pr.stepFactors.log10Prefix.toFixed(1)} over the prefix replayed here, with ${pr.stepFactors.expandingSteps} of ${pr.steps} steps expanding (factor > 1).

Adversarial check: ${pr.adversarial.sets} deletion sets (${pr.adversarial.distinctSets} distinct), ${pr.adversarial.violations} with the exact retraining outside the bound, ${pr.adversarial.refused} not certified (no prefix within six attempts carried a finite bound; their bound is infinite), ${pr.adversarial.replayedWhole} certified only by replaying the whole run (their bound is the exact distance). Bound / distance over the ${pr.adversarial.sets - pr.adversarial.refused - pr.adversarial.replayedWhole} sets bounded from a shorter prefix: first order median ${pr.adversarial.tightness.firstOrder.median.toFixed(2)} (max ${pr.adversarial.tightness.firstOrder.max.toFixed(2)}), second order median ${pr.adversarial.tightness.secondOrder.median.toFixed(2)} (max ${pr.adversarial.tightness.secondOrder.max.toFixed(2)}).

${kinds}`;
}
