// The authors' published numbers beside Lethe's, for the named settings that have them.
import { findPreset, PRESET_NAMES } from '../../settings/index.js';
import type { PublishedRow } from '../../settings/published.js';
import { markdownTable } from '../../table.js';
import type { Stat, SummaryEntry } from './summary.js';

const NAMES: Record<PublishedRow['method'], string> = {
  jackknife: 'jackknife',
  newton: 'Newton step',
  'hessian-free': 'Hessian-free',
};

/** What compare names each published method (its UnlearningMethod's name). */
const LETHE_NAME: Record<PublishedRow['method'], string> = {
  jackknife: 'jackknife',
  newton: 'newton',
  'hessian-free': 'hessian-free',
};

export interface PublishedComparison {
  readonly setting: string;
  readonly rows: readonly {
    readonly deletions: number;
    readonly method: string;
    readonly published: PublishedRow;
    /** Lethe's, over the seeds run; null when that method or count did not run. */
    readonly lethe: {
      readonly distance: Stat;
      readonly distanceCode: Stat;
      readonly unlearnSeconds: number;
      readonly storageMB: number;
      readonly precomputeSeconds: number;
      readonly seeds: readonly number[];
    } | null;
  }[];
}

/** For every setting run that has published numbers: them and Lethe's, row by row. */
export function publishedComparisons(entries: readonly SummaryEntry[]): PublishedComparison[] {
  const out: PublishedComparison[] = [];
  for (const setting of new Set(entries.map((e) => e.setting))) {
    if (!PRESET_NAMES.includes(setting)) continue;
    const published = findPreset(setting).published;
    if (!published) continue;
    out.push({
      setting,
      rows: published.map((p) => {
        const e = entries.find((x) => x.setting === setting && x.method === LETHE_NAME[p.method]);
        const at = e?.perDeletion.find((q) => q.m === p.deletions);
        return {
          deletions: p.deletions,
          method: NAMES[p.method],
          published: p,
          lethe:
            e && at
              ? {
                  distance: at.distance,
                  distanceCode: at.distanceCode,
                  unlearnSeconds: at.seconds.mean,
                  storageMB: e.prepare.bytes / 2 ** 20,
                  precomputeSeconds: e.prepare.seconds.mean,
                  seeds: e.seeds,
                }
              : null,
        };
      }),
    });
  }
  return out;
}

const pm = (mean: number, std: number) => `${mean.toFixed(4)} ± ${std.toFixed(4)}`;
const num = (x: number) =>
  x >= 100 ? x.toFixed(1) : x >= 0.01 ? x.toFixed(2) : x.toExponential(1);

/** The comparison as the authors' table lays it out, their row above Lethe's. */
export function publishedMarkdown(comparisons: readonly PublishedComparison[]): string {
  const parts: string[] = [];
  for (const c of comparisons) {
    parts.push(
      `## ${c.setting}: the authors' published table beside Lethe's`,
      '',
      "Distance: L2 to the retrained model, mean ± std over the seeds. The authors retrain dividing by |B \\ U| (Lethe's second distance column is to that retrain; its first to the paper's |B| counterfactual), and their Hessian-free code departs from the paper (docs/method.md); their times are on a GPU server, Lethe's on 2 shared CPU cores (wasm); their storage is float64 in MiB, Lethe's float32 in MiB.",
      '',
      markdownTable(
        [
          'deletions',
          'method',
          'source',
          'distance to retrain (|B|)',
          'distance to retrain (|B \\ U|)',
          'unlearning s',
          'storage MiB',
          'precompute s',
        ],
        c.rows.flatMap((r) => {
          const p = r.published;
          const rows: (string | number)[][] = [
            [
              r.deletions,
              r.method,
              'authors (published)',
              '',
              pm(p.distance.mean, p.distance.std),
              num(p.unlearnSeconds),
              num(p.storageMB),
              num(p.precomputeSeconds),
            ],
          ];
          const l = r.lethe;
          rows.push(
            l
              ? [
                  r.deletions,
                  r.method,
                  `Lethe (${l.seeds.length} seeds)`,
                  pm(l.distance.mean, l.distance.std),
                  l.distanceCode.values.length > 0
                    ? pm(l.distanceCode.mean, l.distanceCode.std)
                    : 'not run',
                  num(l.unlearnSeconds),
                  num(l.storageMB),
                  num(l.precomputeSeconds),
                ]
              : [r.deletions, r.method, 'Lethe', 'not run', '', '', '', ''],
          );
          return rows;
        }),
      ),
      '',
    );
  }
  return parts.join('\n');
}
