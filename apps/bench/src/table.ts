/** A cell's text, with `|` escaped so that it cannot split the row. */
function cellText(c: string | number): string {
  return (typeof c === 'number' ? formatNumber(c) : c).replaceAll('|', '\\|');
}

/** Formats rows as an aligned Markdown table. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string {
  const cells = rows.map((r) => r.map(cellText));
  headers = headers.map(cellText);
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
