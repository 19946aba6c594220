import type { ExperimentOutput, Plot } from '../../experiment.js';
import { chart, type Series } from '../../svg.js';
import { markdownTable } from '../../table.js';
import type { AblateFlags } from './options.js';
import type { AblateRecord, Sweep } from './run.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
/** Step sizes and clipping thresholds span decades. */
const LOG_X = new Set(['step-size', 'clip']);

/** The decay ablation has one line per q; the others one line. */
function lines(s: Sweep, y: (p: Sweep['points'][number]) => number, name: string): Series[] {
  const decays = [...new Set(s.points.map((p) => p.decay))];
  return decays.map((q) => ({
    name: q === undefined ? name : `${name}, q = ${q}`,
    points: s.points.filter((p) => p.decay === q).map((p) => [p.value, y(p)] as const),
  }));
}

function sweepTable(s: Sweep): string {
  return markdownTable(
    [
      s.parameter,
      ...(s.ablation === 'decay' ? ['q'] : []),
      'ratio HF / shift',
      'distance HF to retrain',
      'distance original to retrain',
      'test acc original / HF / retrain',
      'clipped steps',
      'seconds',
    ],
    s.points.map((p) => [
      p.value,
      ...(p.decay === undefined ? [] : [p.decay]),
      p.ratio,
      p.distance,
      p.shift,
      `${pct(p.testAccuracy.original)} / ${pct(p.testAccuracy.hf)} / ${pct(p.testAccuracy.retrain)}`,
      `${p.clippedSteps} of ${p.steps}`,
      p.seconds,
    ]),
  );
}

/** The ablation's plots, drawn from its record (the report draws them again from result.json). */
export function ablatePlots(r: AblateRecord): Plot[] {
  const out: Plot[] = [];
  const model = r.config.model;
  for (const s of r.sweeps) {
    const logX = LOG_X.has(s.ablation);
    out.push({
      file: `ratio-${s.ablation}.svg`,
      svg: chart(
        lines(s, (p) => p.ratio, 'HF'),
        {
          title: `Distance to retrain / not unlearning's vs ${s.parameter} (${model})`,
          xLabel: s.parameter,
          yLabel: '||w_HF - w_retrain|| / ||w - w_retrain||',
          logX,
          logY: true,
        },
      ),
    });
    out.push({
      file: `accuracy-${s.ablation}.svg`,
      svg: chart(
        [
          ...lines(s, (p) => p.testAccuracy.original, 'original'),
          ...lines(s, (p) => p.testAccuracy.hf, 'HF'),
          ...lines(s, (p) => p.testAccuracy.retrain, 'retrain'),
        ],
        {
          title: `Test accuracy vs ${s.parameter} (${model})`,
          xLabel: s.parameter,
          yLabel: 'test accuracy',
          logX,
        },
      ),
    });
  }
  if (r.repair) {
    const pts = r.repair.points;
    out.push({
      file: 'repair-curve.svg',
      svg: chart(
        [
          {
            name: 'without repair',
            points: pts.map((p) => [p.deletions, p.withoutRepair] as const),
          },
          { name: 'with repair', points: pts.map((p) => [p.deletions, p.withRepair] as const) },
          { name: 'not unlearning', points: pts.map((p) => [p.deletions, p.shift] as const) },
        ],
        {
          title: `Distance to retraining as deletions accumulate (${model})`,
          xLabel: 'deletions so far',
          yLabel: 'L2 distance to the exact counterfactual',
          logY: true,
        },
      ),
    });
  }
  return out;
}

export function ablateOutput(flags: AblateFlags, r: AblateRecord): ExperimentOutput {
  const parts: string[] = [
    `# ablate: ${flags.setting ?? `${r.config.model} on ${flags.dataset}`}`,
    '',
    `Base configuration \`${JSON.stringify(r.config)}\`, seed ${r.seed}, backend ${r.backend}. Each point trains its own run with one value changed, forgets the same ${r.config.forget} samples with the Hessian-free approximators and retrains exactly (|B| normaliser); the ratio is the distance left over the distance not unlearning would leave.`,
    '',
  ];
  for (const s of r.sweeps) parts.push(`## ${s.ablation}`, '', sweepTable(s), '');
  if (r.repair) {
    const c = r.repair;
    parts.push(
      '## repair curve',
      '',
      `${c.rounds} rounds of ${c.perRound} deletions. Without repair: the original run's approximators summed, against the original run retrained without every deletion so far. With repair: after each round, ${c.repairEpochs} epoch(s) of continued training on the remaining samples with their approximators extended through it; against the exact counterfactual of that composite run (the original run and every continuation replayed without the deletions so far). Repairs took ${c.repairSeconds.map((x) => x.toFixed(1)).join(', ') || 'none'} s.`,
      '',
      markdownTable(
        ['deletions', 'without repair', 'with repair', 'not unlearning'],
        c.points.map((p) => [p.deletions, p.withoutRepair, p.withRepair, p.shift]),
      ),
      '',
    );
  }
  const markdown = `${parts.join('\n')}\n`;
  return { result: r, markdown, summary: markdown, plots: ablatePlots(r) };
}
