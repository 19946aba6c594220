// mia: LiRA on the original model, and MIA-U after unlearning at each noise level.
import { chart, type Series } from '../../svg.js';
import { type Cell, escapeHtml, figure, htmlTable } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

interface Attack {
  feature: string;
  classifier: string;
  auc: number;
}
interface MiaRec {
  config: { model: string; dataset: string; n: number; forget: number };
  lira: { name: string; auc: number; tprAt1pctFpr: number; tprAt01pctFpr: number }[];
  miaU: { sigma: number; epsilon: number | null; testAccuracy: number; attacks: Attack[] }[];
  aucNullStd?: { lira?: number; miaU?: number };
}

export function miaSection(results: readonly LoadedResult[]): string {
  return results
    .map((r, i) => {
      const rec = r.record as unknown as MiaRec;
      const levels = rec.miaU;
      const attacks = [
        ...new Set(levels.flatMap((l) => l.attacks.map((a) => `${a.feature} ${a.classifier}`))),
      ];
      // sigma 0 and a log axis do not mix: the noise levels are drawn by index.
      const series: Series[] = attacks.map((name) => ({
        name,
        points: levels.map(
          (l, j) =>
            [
              j,
              l.attacks.find((a) => `${a.feature} ${a.classifier}` === name)?.auc ?? Number.NaN,
            ] as const,
        ),
        style: 'points' as const,
      }));
      const nullStd = rec.aucNullStd?.miaU;
      if (nullStd !== undefined) {
        series.push({
          name: 'chance ± null std',
          points: levels.map((_, j) => [j, 0.5] as const),
          spread: levels.map(() => nullStd),
        });
      }
      const c = rec.config;
      return [
        heading(3, `mia: ${r.name}`, `mia-${i + 1}`),
        `<p class="note">${escapeHtml(`${c.model} on ${c.dataset}, n ${c.n}, ${c.forget} forgotten.`)}</p>`,
        htmlTable(
          ['LiRA', 'AUC', 'TPR @ 1% FPR', 'TPR @ 0.1% FPR'],
          rec.lira.map((l) => [l.name, l.auc, l.tprAt1pctFpr, l.tprAt01pctFpr]),
        ),
        htmlTable(
          ['noise level', 'sigma', 'epsilon', 'test accuracy', 'best MIA-U AUC', 'worst MIA-U AUC'],
          levels.map((l, j): Cell[] => [
            j,
            l.sigma,
            l.epsilon ?? 'none',
            l.testAccuracy,
            Math.max(...l.attacks.map((a) => a.auc)),
            Math.min(...l.attacks.map((a) => a.auc)),
          ]),
        ),
        figure(
          chart(series, {
            title: 'MIA-U AUC per noise level',
            xLabel: 'noise level (row of the table above)',
            yLabel: 'AUC',
            width: 760,
            height: 460,
          }),
          nullStd !== undefined
            ? `Band: 0.5 ± the AUC's standard deviation under no signal (${nullStd.toFixed(3)}).`
            : 'Each attack is one feature and one classifier.',
        ),
        metadataBlock([r]),
      ].join('\n');
    })
    .join('\n');
}
