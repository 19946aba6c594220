import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Formats rows as an aligned Markdown table. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => String(r[i] ?? '').length)),
  );
  const line = (r: readonly string[]) =>
    `| ${r.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(headers),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...cells.map(line),
  ].join('\n');
}

export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(3);
  if (a >= 100) return x.toFixed(1);
  return x.toPrecision(4);
}

/** Writes a file atomically (temporary file, then rename), creating the directory. */
export function writeAtomic(dir: string, name: string, content: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
  return path;
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const idx = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[idx]!;
}

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function std(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, values.length - 1));
}

/** A one-line progress display on stderr (a TTY gets a redrawn line, a log gets milestones). */
export function progressLine(label: string): (fraction: number, detail?: string) => void {
  let lastPct = -1;
  return (fraction, detail = '') => {
    const pct = Math.floor(fraction * 100);
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${label}: ${pct.toString().padStart(3)}% ${detail}   `);
      if (fraction >= 1) process.stderr.write('\n');
    } else if (pct >= lastPct + 10 || (fraction >= 1 && lastPct < 100)) {
      lastPct = pct;
      process.stderr.write(`${label}: ${pct}% ${detail}\n`);
    }
  };
}
