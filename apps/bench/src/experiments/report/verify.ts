// verify runs, grouped by configuration (everything but the seed): each metric's mean ± std over
// the seeds beside each seed's value; training loss as a mean with a band; loss changes; sweeps.
import { mean, std } from '../../stats.js';
import { chart, type Series } from '../../svg.js';
import { type Cell, figure, htmlTable, meanStd } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

interface Acc {
  original: number;
  hf: number;
  retrain: number;
}
interface VerifyRec {
  config: Record<string, unknown> & {
    model: string;
    dataset: string;
    n: number;
    forget: number;
    seed: number;
  };
  seed: number;
  distance: { hf: number; retrainShift: number; ratio: number; hf2?: number; ratio2?: number };
  accuracy: { test: Acc; forget: Acc; remain: Acc };
  lossChange?: { pearson: number; approximate: number[]; actual: number[] };
  timing?: {
    trainSeconds: number;
    precomputeSeconds: number;
    retrainSeconds: number;
    unlearnMs: { p50: number };
  };
  storage?: { bytes: number };
  trainingLoss?: number[];
  sweep?: { m: number; ratio: number; ratio2?: number }[] | null;
}

const METRICS: [string, (r: VerifyRec) => number | undefined][] = [
  ['distance ratio HF / retrain shift', (r) => r.distance.ratio],
  ['distance ratio HF2 / retrain shift', (r) => r.distance.ratio2],
  ['distance HF to retrain', (r) => r.distance.hf],
  ['distance original to retrain', (r) => r.distance.retrainShift],
  ['test accuracy, unlearned', (r) => r.accuracy.test.hf],
  ['test accuracy, retrained', (r) => r.accuracy.test.retrain],
  ['forgotten accuracy, unlearned', (r) => r.accuracy.forget.hf],
  ['forgotten accuracy, retrained', (r) => r.accuracy.forget.retrain],
  ['loss change Pearson', (r) => r.lossChange?.pearson],
  ['train seconds', (r) => r.timing?.trainSeconds],
  ['precompute seconds', (r) => r.timing?.precomputeSeconds],
  ['unlearn ms per request (p50)', (r) => r.timing?.unlearnMs.p50],
  ['retrain seconds', (r) => r.timing?.retrainSeconds],
  ['storage bytes', (r) => r.storage?.bytes],
];

/** The configuration without the seed, as a grouping key and a caption. */
function setting(r: VerifyRec): string {
  const { seed: _, ...rest } = r.config;
  return Object.entries(rest)
    .filter(([k]) => k !== 'steps' && k !== 'd')
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function group(results: readonly LoadedResult[], id: string): string {
  const recs = results.map((r) => r.record as unknown as VerifyRec);
  const seeds = recs.map((r) => r.seed);
  const rows: Cell[][] = [];
  for (const [name, get] of METRICS) {
    const values = recs.map(get);
    const known = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (known.length === 0) continue;
    rows.push([name, meanStd(mean(known), std(known), known.length), ...values]);
  }
  const out = [
    `<p class="note">${recs[0]!.config.model} on ${recs[0]!.config.dataset}: ${setting(recs[0]!)}; seeds ${seeds.join(', ')}.</p>`,
    htmlTable(
      [
        'metric',
        `mean ± std over ${recs.length} seed${recs.length > 1 ? 's' : ''}`,
        ...seeds.map((s) => `seed ${s}`),
      ],
      rows,
    ),
  ];
  const figures: string[] = [];
  const losses = recs.map((r) => r.trainingLoss ?? []).filter((l) => l.length > 0);
  const steps = Math.min(...losses.map((l) => l.length));
  if (losses.length > 0 && steps > 1) {
    const at = (t: number) => losses.map((l) => l[t]!);
    figures.push(
      figure(
        chart(
          [
            {
              name: losses.length > 1 ? `mean of ${losses.length} seeds` : 'batch loss',
              points: Array.from({ length: steps }, (_, t) => [t, mean(at(t))] as const),
              spread:
                losses.length > 1 ? Array.from({ length: steps }, (_, t) => std(at(t))) : undefined,
            },
          ],
          {
            title: `Training loss (${recs[0]!.config.model})`,
            xLabel: 'step',
            yLabel: 'cross-entropy',
          },
        ),
        losses.length > 1 ? 'Band: ± one standard deviation over seeds at each step.' : 'One seed.',
      ),
    );
  }
  const scatter: Series[] = recs
    .filter((r) => r.lossChange && r.lossChange.actual.length > 0)
    .map((r) => ({
      name: `seed ${r.seed}`,
      points: r.lossChange!.actual.map((a, i) => [a, r.lossChange!.approximate[i]!] as const),
      style: 'points' as const,
    }));
  if (scatter.length > 0) {
    figures.push(
      figure(
        chart(scatter, {
          title: 'Loss change on forgotten samples',
          xLabel: 'actual (retrained) loss change',
          yLabel: 'approximate (unlearned) loss change',
          diagonal: true,
        }),
        'Each forgotten sample: the change of its loss predicted by unlearning against retraining; the diagonal is exact agreement.',
      ),
    );
  }
  const sweeps = recs.filter((r) => Array.isArray(r.sweep) && r.sweep.length > 0);
  if (sweeps.length > 0) {
    const ms = sweeps[0]!.sweep!.map((s) => s.m);
    const series: Series[] = [];
    for (const [name, key] of [
      ['first order', 'ratio'],
      ['second order', 'ratio2'],
    ] as const) {
      const at = (i: number) =>
        sweeps.map((r) => r.sweep![i]?.[key]).filter((v): v is number => typeof v === 'number');
      if (at(0).length === 0) continue;
      series.push({
        name,
        points: ms.map((m, i) => [m, mean(at(i))] as const),
        spread: sweeps.length > 1 ? ms.map((_, i) => std(at(i))) : undefined,
      });
    }
    figures.push(
      figure(
        chart(series, {
          title: 'Distance to retrain / retrain shift',
          xLabel: 'deletions',
          yLabel: 'ratio',
          logY: true,
        }),
        `Over ${sweeps.length} seed${sweeps.length > 1 ? 's (band: ± one standard deviation)' : ''}.`,
      ),
    );
  }
  return [
    heading(3, `verify: ${recs[0]!.config.model}, ${recs[0]!.config.dataset}`, id),
    ...out,
    ...figures,
    metadataBlock(results),
  ].join('\n');
}

export function verifySection(results: readonly LoadedResult[]): string {
  const groups = new Map<string, LoadedResult[]>();
  for (const r of results) {
    const rec = r.record as unknown as VerifyRec;
    // A sweep is a different measurement of the same setting: its own group.
    const sweep = Array.isArray(rec.sweep) ? ` sweep ${rec.sweep.map((s) => s.m).join(',')}` : '';
    const key = `${setting(rec)}${sweep}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((g, i) => group(g, `verify-${i + 1}`)).join('\n');
}
