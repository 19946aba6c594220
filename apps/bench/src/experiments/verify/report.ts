import type { ExperimentOutput, Plot } from '../../experiment.js';
import { chart } from '../../svg.js';
import { markdownTable } from '../../table.js';
import type { VerifyFlags } from './options.js';
import type { VerifyRecord } from './run.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const trio = (a: { original: number; hf: number; retrain: number }) =>
  `${pct(a.original)} / ${pct(a.hf)} / ${pct(a.retrain)}`;

function table(flags: VerifyFlags, r: VerifyRecord): string {
  const { distance: d, secondOrder: so, accuracy: a, timing: t } = r;
  const rows: [string, string | number][] = [
    ['distance HF to retrain (|B|)', d.hf],
    ['distance original to retrain', d.retrainShift],
    ['ratio HF / shift', d.ratio],
  ];
  if (so) {
    rows.push(
      ['distance HF2 (second order) to retrain', so.hf2],
      ['ratio HF2 / shift', so.ratio],
      ['ratio HF2 / shift, without clipping curvature', so.withoutClipCurvature.ratio],
      ['second-order pass seconds', so.seconds],
    );
  }
  const ms = r.timing.unlearnMs;
  rows.push(
    ["distance HF to retrain (|B \\ U|, authors' code)", d.hfToCodeRetrain],
    ['test acc original / HF / retrain', trio(a.test)],
    ['forget acc original / HF / retrain', trio(a.forget)],
    ['remain acc original / HF / retrain', trio(a.remain)],
    ['loss change Pearson (approx vs actual)', r.lossChange.pearson],
    ['train seconds', t.trainSeconds],
    [
      flags.lazy
        ? 'precompute seconds (lazy: none)'
        : `precompute seconds (${t.workers} workers, block ${t.blockSize})`,
      t.precomputeSeconds,
    ],
    [
      flags.lazy ? 'lazy unlearn ms (whole set)' : 'unlearn ms per request p50 / p99',
      `${ms.p50.toFixed(3)} / ${ms.p99.toFixed(3)}`,
    ],
    ['retrain seconds', t.retrainSeconds],
    ['storage bytes', r.storage.bytes],
    ['clipped steps', `${r.clippedSteps} of ${r.config.steps}`],
  );
  return markdownTable(['metric', 'value'], rows);
}

function plots(flags: VerifyFlags, r: VerifyRecord): Plot[] {
  const { approximate, actual, pearson } = r.lossChange;
  const out: Plot[] = [
    {
      file: 'loss-change.svg',
      svg: chart(
        [
          {
            name: 'forgotten samples',
            points: approximate.map((a, i) => [actual[i]!, a] as const),
            style: 'points',
          },
        ],
        {
          title: `Loss change on forgotten samples (Pearson ${pearson.toFixed(3)})`,
          xLabel: 'actual (retrained) loss change',
          yLabel: 'approximate (unlearned) loss change',
          diagonal: true,
        },
      ),
    },
    {
      file: 'training-loss.svg',
      svg: chart([{ name: 'batch loss', points: r.trainingLoss.map((l, t) => [t, l] as const) }], {
        title: `Training loss (${r.config.model})`,
        xLabel: 'step',
        yLabel: 'cross-entropy',
      }),
    },
  ];
  if (r.sweep) {
    const series = [{ name: 'first order', points: r.sweep.map((s) => [s.m, s.ratio] as const) }];
    if (flags.order === 2) {
      series.push({ name: 'second order', points: r.sweep.map((s) => [s.m, s.ratio2!] as const) });
    }
    out.push({
      file: 'distance-vs-deletions.svg',
      svg: chart(series, {
        title: `Distance to retrain / retrain shift (${r.config.model})`,
        xLabel: 'deletions',
        yLabel: '||w_unlearned - w_retrain|| / ||w - w_retrain||',
        logY: true,
      }),
    });
  }
  return out;
}

export function verifyOutput(flags: VerifyFlags, record: VerifyRecord): ExperimentOutput {
  const t = table(flags, record);
  return {
    result: record,
    markdown: `# verify: ${flags.setting ?? `${record.config.model} on ${flags.dataset}`}\n\n${t}\n`,
    summary: t,
    plots: plots(flags, record),
  };
}
