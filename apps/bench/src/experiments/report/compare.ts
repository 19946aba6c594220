// compare: every method against retraining over the deletion sweep, mean ± std over seeds
// (error bars), per setting.

import { chart, type Series } from '../../svg.js';
import { formatNumber } from '../../table.js';
import { type Cell, escapeHtml, figure, htmlTable, markdownToHtml, meanStd } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

interface Spread {
  mean: number;
  std: number;
  values: number[];
}
interface Entry {
  setting: string;
  method: string;
  model: string;
  seeds: number[];
  prepare?: { seconds: Spread; bytes: number };
  perDeletion: {
    m: number;
    distance: Spread;
    ratio?: Spread;
    seconds?: Spread;
    accuracy?: { test?: Spread };
  }[];
}
interface CompareRec {
  complete?: boolean;
  entries: Entry[];
  notRun?: { setting: string; method: string; reason: string }[];
  protocol?: string;
}

function plot(
  entries: readonly Entry[],
  metric: 'distance' | 'ratio' | 'seconds',
  title: string,
  yLabel: string,
) {
  const series: Series[] = entries
    .filter((e) => e.perDeletion.some((p) => (p[metric]?.mean ?? 0) > 0))
    .map((e) => ({
      name: e.method,
      points: e.perDeletion.map((p) => [p.m, p[metric]?.mean ?? Number.NaN] as const),
      spread: e.perDeletion.map((p) => p[metric]?.std ?? 0),
      style: 'line' as const,
    }));
  if (series.length === 0) return '';
  const seeds = Math.max(...entries.map((e) => e.seeds.length));
  return figure(
    chart(series, { title, xLabel: 'deletions', yLabel, logX: true, logY: true, width: 720 }),
    seeds > 1
      ? `Mean over ${seeds} seeds; band: ± one standard deviation.`
      : 'One seed (no spread to draw).',
  );
}

function settingBlock(setting: string, entries: readonly Entry[], rec: CompareRec): string {
  const ms = entries[0]!.perDeletion.map((p) => p.m);
  const seeds = entries[0]!.seeds;
  const rows: Cell[][] = entries.map((e) => [
    e.method,
    ...ms.map((m) => {
      const p = e.perDeletion.find((q) => q.m === m);
      return p?.ratio ? meanStd(p.ratio.mean, p.ratio.std, p.ratio.values.length) : undefined;
    }),
    ...ms.slice(-1).map((m) => {
      const p = e.perDeletion.find((q) => q.m === m)?.accuracy?.test;
      return p ? meanStd(p.mean, p.std, p.values.length) : undefined;
    }),
    e.prepare
      ? meanStd(e.prepare.seconds.mean, e.prepare.seconds.std, e.prepare.seconds.values.length)
      : undefined,
    e.prepare?.bytes,
  ]);
  const notRun = (rec.notRun ?? []).filter((n) => n.setting === setting);
  return [
    `<p class="note">Setting <code>${escapeHtml(setting)}</code> (${escapeHtml(entries[0]!.model)}), seeds ${seeds.join(', ')}${rec.complete === false ? '; <strong>incomplete run</strong>' : ''}.</p>`,
    htmlTable(
      [
        'method',
        ...ms.map((m) => `ratio @ ${m}`),
        `test acc @ ${formatNumber(ms[ms.length - 1]!)}`,
        'precompute s',
        'storage bytes',
      ],
      rows,
    ),
    notRun.length > 0
      ? `<p class="note">Not run: ${notRun.map((n) => `${escapeHtml(n.method)} (${escapeHtml(n.reason)})`).join('; ')}.</p>`
      : '',
    plot(entries, 'distance', `Distance to retraining (${setting})`, '||w - w_retrain||'),
    plot(entries, 'ratio', `Distance / not unlearning's (${setting})`, 'ratio'),
    plot(entries, 'seconds', `Time per request (${setting})`, 'seconds'),
  ].join('\n');
}

/**
 * The published tables the run set beside its own (named settings with the authors' numbers),
 * as result.md words them: each `## ... published ...` section.
 */
function publishedTables(markdown: string | undefined): string {
  if (!markdown) return '';
  const sections = markdown.split(/^(?=## )/m).filter((part) => /^## .*published/.test(part));
  return sections.map((part) => markdownToHtml(part.replace(/^## /, '#### '))).join('\n');
}

export function compareSection(results: readonly LoadedResult[]): string {
  return results
    .map((r, i) => {
      const rec = r.record as unknown as CompareRec;
      const settings = [...new Set(rec.entries.map((e) => e.setting))];
      return [
        heading(3, `compare: ${r.name}`, `compare-${i + 1}`),
        'Ratio: distance to the retrained model over the distance of not unlearning at all (mean ± std over seeds).',
        ...settings.map((s) =>
          settingBlock(
            s,
            rec.entries.filter((e) => e.setting === s),
            rec,
          ),
        ),
        publishedTables(r.markdown),
        rec.protocol ? `<p class="note">${escapeHtml(rec.protocol)}</p>` : '',
        metadataBlock([r]),
      ].join('\n');
    })
    .join('\n');
}
