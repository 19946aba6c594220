import type { TrainConfig } from '@lethe/recollect';
import type { ExperimentOutput } from '../../experiment.js';
import { mean, std } from '../../stats.js';
import { chart } from '../../svg.js';
import { markdownTable } from '../../table.js';
import { publishedComparisons, publishedMarkdown } from './published.js';
import type { Stat, SummaryEntry } from './summary.js';

export type { Stat, SummaryEntry } from './summary.js';

export interface RequestRun {
  readonly m: number;
  readonly seconds: number;
  /** L2 distance to the retrained model (|B| normaliser, the paper's counterfactual). */
  readonly distance: number;
  /** L2 distance to the retrain that divides by |B \ U| (the authors' code); null if not run. */
  readonly distanceCode: number | null;
  readonly accuracy: { readonly test: number; readonly forget: number; readonly remain: number };
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface MethodRun {
  readonly method: string;
  readonly prepare: {
    readonly seconds: number;
    readonly bytes: number;
    readonly detail: Readonly<Record<string, unknown>>;
  };
  readonly requests: RequestRun[];
}

export interface CompareRun {
  readonly setting: string;
  readonly seed: number;
  readonly model: string;
  readonly d: number;
  readonly n: number;
  readonly dataset: string;
  readonly config: TrainConfig;
  readonly steps: number;
  readonly trainSeconds: number;
  readonly methods: MethodRun[];
}

export interface NotRun {
  readonly setting: string;
  readonly method: string;
  readonly reason: string;
}

const stat = (values: number[]): Stat => ({
  mean: values.length > 0 ? mean(values) : Number.NaN,
  std: values.length > 1 ? std(values) : 0,
  values,
});

/** One entry per (setting, method): mean and std over seeds of every metric. */
export function aggregate(runs: readonly CompareRun[]): SummaryEntry[] {
  const entries: SummaryEntry[] = [];
  const keys = new Map<string, { setting: string; method: string }>();
  for (const r of runs)
    for (const m of r.methods)
      keys.set(`${r.setting}\u0000${m.method}`, { setting: r.setting, method: m.method });
  for (const { setting, method } of keys.values()) {
    const rs = runs.filter((r) => r.setting === setting);
    const pairs = rs.flatMap((r) => {
      const mr = r.methods.find((x) => x.method === method);
      const original = r.methods.find((x) => x.method === 'original');
      return mr && original ? [{ r, mr, original }] : [];
    });
    const first = pairs[0]!;
    const counts = first.mr.requests.map((q) => q.m);
    entries.push({
      setting,
      method,
      model: first.r.model,
      d: first.r.d,
      n: first.r.n,
      seeds: pairs.map((p) => p.r.seed),
      prepare: {
        seconds: stat(pairs.map((p) => p.mr.prepare.seconds)),
        bytes: first.mr.prepare.bytes,
      },
      perDeletion: counts.map((m) => {
        const at = pairs.map((p) => ({
          q: p.mr.requests.find((q) => q.m === m)!,
          o: p.original.requests.find((q) => q.m === m)!,
        }));
        return {
          m,
          distance: stat(at.map(({ q }) => q.distance)),
          distanceCode: stat(
            at.flatMap(({ q }) => (q.distanceCode === null ? [] : [q.distanceCode])),
          ),
          ratio: stat(at.map(({ q, o }) => q.distance / o.distance)),
          seconds: stat(at.map(({ q }) => q.seconds)),
          accuracy: {
            test: stat(at.map(({ q }) => q.accuracy.test)),
            forget: stat(at.map(({ q }) => q.accuracy.forget)),
            remain: stat(at.map(({ q }) => q.accuracy.remain)),
          },
        };
      }),
    });
  }
  return entries;
}

const pm = (s: Stat, digits = 3, scale = 1) =>
  s.values.length > 1
    ? `${fmt(s.mean * scale, digits)} ± ${fmt(s.std * scale, digits)}`
    : fmt(s.mean * scale, digits);

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 10 ** -digits) return x.toExponential(2);
  return x.toPrecision(digits);
}

function bytes(b: number): string {
  if (b === 0) return '0';
  const units = ['B', 'KB', 'MB', 'GB'];
  let v = b;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${b} (${v.toPrecision(3)} ${units[u]})`;
}

/** The Markdown report: per setting, cost, distances over the sweep, accuracies. */
export function markdownReport(
  entries: readonly SummaryEntry[],
  notRun: readonly NotRun[],
  flags: Readonly<Record<string, unknown>>,
  backend: string,
): string {
  const out: string[] = ['# compare: unlearning methods against retraining', ''];
  out.push(
    `Backend ${backend}. Flags: \`${JSON.stringify(flags)}\`. Mean ± std over seeds; each deletion count is an independent batch request from the prepared model.`,
    '',
  );
  for (const setting of [...new Set(entries.map((e) => e.setting))]) {
    const es = entries.filter((e) => e.setting === setting);
    const e0 = es[0]!;
    const counts = e0.perDeletion.map((p) => p.m);
    out.push(
      `## ${setting}: ${e0.model}, d = ${e0.d}, n = ${e0.n}, seeds ${e0.seeds.join(', ')}`,
      '',
    );
    out.push('### Cost', '');
    out.push(
      markdownTable(
        ['method', 'precompute s', 'storage bytes', ...counts.map((m) => `per request s (m=${m})`)],
        es.map((e) => [
          e.method,
          e.method === 'original' ? `${pm(e.prepare.seconds)} (training)` : pm(e.prepare.seconds),
          bytes(e.prepare.bytes),
          ...e.perDeletion.map((p) => pm(p.seconds)),
        ]),
      ),
      '',
    );
    out.push('### L2 distance to the retrained model (|B| normaliser, the paper)', '');
    out.push(
      markdownTable(
        ['method', ...counts.map((m) => `m=${m}`)],
        es.map((e) => [e.method, ...e.perDeletion.map((p) => pm(p.distance))]),
      ),
      '',
    );
    out.push(
      '### Distance / distance of the original model (1 = no better than not unlearning)',
      '',
    );
    out.push(
      markdownTable(
        ['method', ...counts.map((m) => `m=${m}`)],
        es.map((e) => [e.method, ...e.perDeletion.map((p) => pm(p.ratio))]),
      ),
      '',
    );
    if (es.some((e) => e.perDeletion.some((p) => p.distanceCode.values.length > 0))) {
      out.push("### L2 distance to the |B \\ U|-normalised retrain (authors' code)", '');
      out.push(
        markdownTable(
          ['method', ...counts.map((m) => `m=${m}`)],
          es.map((e) => [e.method, ...e.perDeletion.map((p) => pm(p.distanceCode))]),
        ),
        '',
      );
    }
    out.push('### Accuracy (%): test / forgotten / remaining', '');
    out.push(
      markdownTable(
        ['method', ...counts.map((m) => `m=${m}`)],
        es.map((e) => [
          e.method,
          ...e.perDeletion.map(
            (p) =>
              `${pm(p.accuracy.test, 3, 100)} / ${pm(p.accuracy.forget, 3, 100)} / ${pm(p.accuracy.remain, 3, 100)}`,
          ),
        ]),
      ),
      '',
    );
  }
  if (notRun.length > 0) {
    out.push('## Not run', '');
    for (const r of notRun) out.push(`- ${r.setting} / ${r.method}: ${r.reason}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** SVG plots per setting: distance to retrain and per-request time against deletions. */
export function chartsFor(entries: readonly SummaryEntry[]): [string, string][] {
  const files: [string, string][] = [];
  for (const setting of [...new Set(entries.map((e) => e.setting))]) {
    const all = entries.filter((e) => e.setting === setting);
    const names = new Set(all.map((e) => e.method));
    // A CG variant gives its Cholesky counterpart's weights (to the CG tolerance): drawing
    // both would only hide one line under the other.
    const es = all.filter(
      (e) =>
        e.method !== 'retrain' && !(e.method.endsWith('-cg') && names.has(e.method.slice(0, -3))),
    );
    const e0 = es[0]!;
    files.push([
      `distance-${setting}.svg`,
      chart(
        es.map((e) => ({
          name: e.method,
          points: e.perDeletion.map((p) => [p.m, p.distance.mean] as const),
        })),
        {
          title: `Distance to retraining, ${e0.model} (d = ${e0.d}), ${e0.seeds.length} seed(s)`,
          xLabel: 'deletions',
          yLabel: 'L2 distance to retrained weights',
          logY: true,
        },
      ),
    ]);
    // Relative to not unlearning: where every method stays near the original model (the CNN),
    // the distances overlap on the plot above; the ratio separates them.
    files.push([
      `ratio-${setting}.svg`,
      chart(
        es
          .filter((e) => e.method !== 'original')
          .map((e) => ({
            name: e.method,
            points: e.perDeletion.map((p) => [p.m, p.ratio.mean] as const),
          })),
        {
          title: `Distance to retraining / not unlearning's, ${e0.model}, ${e0.seeds.length} seed(s)`,
          xLabel: 'deletions',
          yLabel: "distance / original model's distance",
          logY: true,
        },
      ),
    ]);
    // Variants of one solver cost the same: one line each (retraining for reference).
    const timed = all.filter((e) => e.method !== 'original' && !e.method.includes('@'));
    files.push([
      `time-${setting}.svg`,
      chart(
        timed.map((e) => ({
          name: e.method,
          points: e.perDeletion.map((p) => [p.m, Math.max(p.seconds.mean, 1e-6)] as const),
        })),
        {
          title: `Unlearning time per request, ${e0.model}`,
          xLabel: 'deletions',
          yLabel: 'seconds',
          logY: true,
        },
      ),
    ]);
  }
  return files;
}

const PROTOCOL =
  'Per seed: a training subset, run and forget permutation of their own; each method prepared once, each deletion count an independent batch request from the prepared state; distances to the |B|-normalised retrain (paper) and to the |B \\ U| one (authors code).';

/** What a comparison (or a merge of several) measured, complete or so far. */
export interface CompareParts {
  readonly complete: boolean;
  readonly backend: { name: string; reason: string; unavailable: unknown } | undefined;
  readonly flags: Readonly<Record<string, unknown>>;
  readonly totalSeconds: number;
  readonly notRun: readonly NotRun[];
  readonly runs: readonly CompareRun[];
  readonly mergedFrom?: readonly string[];
}

export function compareOutput(parts: CompareParts): ExperimentOutput {
  const summary = aggregate(parts.runs);
  const backend = parts.backend?.name ?? 'unknown';
  const published = publishedComparisons(summary);
  const markdown = `${markdownReport(summary, parts.notRun, parts.flags, backend)}${
    published.length > 0 ? `\n${publishedMarkdown(published)}` : ''
  }`;
  return {
    result: {
      complete: parts.complete,
      backend: parts.backend?.name,
      backendDetail: parts.backend,
      flags: parts.flags,
      protocol: PROTOCOL,
      totalSeconds: parts.totalSeconds,
      ...(parts.mergedFrom ? { mergedFrom: parts.mergedFrom } : {}),
      entries: summary,
      ...(published.length > 0 ? { published } : {}),
      notRun: parts.notRun,
      runs: parts.runs,
    },
    markdown,
    summary: markdown,
    plots: chartsFor(summary).map(([file, svg]) => ({ file, svg })),
  };
}
