// certify: sigma, accuracy and distance of the certified release against epsilon, per bound.

import { chart, type Series } from '../../svg.js';
import { type Cell, escapeHtml, figure, htmlTable } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

interface Row {
  sensitivityModel: string;
  sensitivity?: number;
  epsilon: number;
  sigma: number | null;
  testAccuracy: number | null;
  forgetAccuracy?: number | null;
  distanceToRetrain?: number | null;
}
interface CertifyRec {
  config: {
    model: string;
    dataset: string;
    n: number;
    forget: number;
    draws?: number;
    delta?: number;
  };
  rows: Row[];
  reference?: { testAccuracy?: { original: number; unlearned: number; retrain: number } };
}

export function certifySection(results: readonly LoadedResult[]): string {
  return results
    .map((r, i) => {
      const rec = r.record as unknown as CertifyRec;
      const models = [...new Set(rec.rows.map((x) => x.sensitivityModel))];
      const series: Series[] = models
        .map((m) => rec.rows.filter((x) => x.sensitivityModel === m && x.testAccuracy !== null))
        .filter((rows) => rows.length > 0)
        .map((rows) => ({
          name: rows[0]!.sensitivityModel.replace(/ \(.*$/, ''),
          points: rows.map((x) => [x.epsilon, x.testAccuracy!] as const),
        }));
      const ref = rec.reference?.testAccuracy;
      if (ref) {
        const eps = rec.rows.map((x) => x.epsilon);
        series.push({
          name: 'unlearned, no noise',
          points: [Math.min(...eps), Math.max(...eps)].map((e) => [e, ref.unlearned] as const),
        });
      }
      const rows: Cell[][] = rec.rows.map((x) => [
        x.sensitivityModel,
        x.epsilon,
        x.sigma,
        x.testAccuracy,
        x.distanceToRetrain,
      ]);
      const c = rec.config;
      return [
        heading(3, `certify: ${r.name}`, `certify-${i + 1}`),
        `<p class="note">${escapeHtml(`${c.model} on ${c.dataset}, n ${c.n}, ${c.forget} deletions, delta ${c.delta ?? '?'}; accuracy is the mean over ${c.draws ?? '?'} noise draws.`)}</p>`,
        series.length > 0
          ? figure(
              chart(series, {
                title: 'Test accuracy of the certified release',
                xLabel: 'epsilon',
                yLabel: 'test accuracy',
                logX: true,
              }),
              'Each bound on the sensitivity gives its own sigma at each epsilon; rows whose bound overflows are not drawn.',
            )
          : '',
        htmlTable(
          ['sensitivity bound', 'epsilon', 'sigma', 'test accuracy', 'distance to retrain'],
          rows,
        ),
        metadataBlock([r]),
      ].join('\n');
    })
    .join('\n');
}
