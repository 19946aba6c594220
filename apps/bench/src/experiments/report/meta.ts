// Each run's metadata (result.json's `run`, written by results.ts) as a collapsible table.
import { escapeHtml, htmlTable } from './html.js';
import type { LoadedResult } from './load.js';

interface RunMeta {
  gitCommit?: string | null;
  startedAt?: string;
  seconds?: number;
  argv?: string[];
  machine?: {
    cpu?: string;
    cores?: number;
    memoryBytes?: number;
    loadAverage?: { start?: number[]; end?: number[] };
  };
  versions?: Record<string, string>;
}

const gib = (bytes: number | undefined) =>
  bytes === undefined ? undefined : `${(bytes / 2 ** 30).toFixed(1)} GiB`;

/** Versions compactly: node, tfjs, and the @lethe packages (one line when they agree). */
function versionText(v: Record<string, string> | undefined): string | undefined {
  if (v === undefined) return undefined;
  const lethe = Object.entries(v).filter(([k]) => k.startsWith('@lethe/'));
  const same = new Set(lethe.map(([, x]) => x));
  const letheText =
    same.size === 1
      ? `@lethe/* ${[...same][0]} (${lethe.length} packages)`
      : lethe.map(([k, x]) => `${k} ${x}`).join(', ');
  return [`node ${v.node ?? '?'}`, `tfjs ${v.tfjs ?? '?'}`, letheText].join('; ');
}

/** The rows of one run's metadata. */
export function metadataRows(r: LoadedResult): [string, string | number | undefined][] {
  const rec = r.record ?? {};
  const run = rec.run as RunMeta | undefined;
  const format = rec.format;
  const rows: [string, string | number | undefined][] = [
    ['directory', r.dir],
    ['format', typeof format === 'number' ? format : '0 (written before the field existed)'],
    ['backend', typeof rec.backend === 'string' ? rec.backend : undefined],
  ];
  if (run === undefined) {
    rows.push(
      ['run metadata', 'none (format 0)'],
      ['versions', versionText(rec.versions as Record<string, string> | undefined)],
    );
    return rows;
  }
  const m = run.machine;
  const load = (a: number[] | undefined) => a?.map((x) => x.toFixed(2)).join(' / ');
  rows.push(
    ['git commit', run.gitCommit ?? 'unknown (not a git checkout)'],
    ['started', run.startedAt],
    ['seconds', run.seconds],
    ['command', run.argv ? `pnpm bench ${run.argv.join(' ')}` : undefined],
    [
      'CPU',
      m ? `${m.cpu ?? '?'}, ${m.cores ?? '?'} cores, ${gib(m.memoryBytes) ?? '?'}` : undefined,
    ],
    [
      'load average (1 / 5 / 15 min)',
      m?.loadAverage
        ? `${load(m.loadAverage.start)} at start, ${load(m.loadAverage.end)} at end`
        : undefined,
    ],
    ['versions', versionText(run.versions)],
  );
  return rows;
}

/** The metadata of several runs, one column each, folded away by default. */
export function metadataBlock(results: readonly LoadedResult[]): string {
  const per = results.map(metadataRows);
  const keys = per[0]!.map(([k]) => k);
  const rows = keys.map((k) => [k, ...per.map((rs) => rs.find(([kk]) => kk === k)?.[1])]);
  return `<details class="meta"><summary>Run metadata (${results.length} run${results.length > 1 ? 's' : ''})</summary>\n${htmlTable(
    ['', ...results.map((r) => r.name)],
    rows,
  )}\n</details>`;
}

export function heading(level: 2 | 3, text: string, id?: string): string {
  return `<h${level}${id ? ` id="${escapeHtml(id)}"` : ''}>${escapeHtml(text)}</h${level}>`;
}
