// The pieces of the report's page: escaping, tables, figures and the page itself. The page is
// self-contained: inline CSS and SVG, no script, nothing fetched.
import { formatNumber } from '../../table.js';

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

export type Cell = string | number | null | undefined;

function cellHtml(c: Cell): string {
  if (c === null || c === undefined) return '<td class="na">–</td>';
  if (typeof c === 'number') return `<td class="num">${escapeHtml(formatNumber(c))}</td>`;
  return `<td>${escapeHtml(c)}</td>`;
}

export function htmlTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  return [
    '<table>',
    `<thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map(cellHtml).join('')}</tr>`).join('\n')}</tbody>`,
    '</table>',
  ].join('\n');
}

/** A plot: its SVG inline, with a caption. */
export function figure(svg: string, caption: string): string {
  return `<figure class="plot">\n${svg.trim()}\n<figcaption>${escapeHtml(caption)}</figcaption>\n</figure>`;
}

/** `mean ± std` of a metric over seeds (just the value for one seed). */
export function meanStd(mean: number, std: number, count: number): string {
  return count > 1 ? `${formatNumber(mean)} ± ${formatNumber(std)}` : formatNumber(mean);
}

/**
 * The Markdown tables of a result.md as HTML (for result kinds the report does not know):
 * pipe tables only, `\|` inside a cell kept as a literal bar; other lines as paragraphs.
 */
export function markdownToHtml(markdown: string): string {
  const lines = markdown.split('\n');
  const out: string[] = [];
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replaceAll('\\|', '|'));
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim().startsWith('|') && /^\s*\|[\s|:-]+\|\s*$/.test(lines[i + 1] ?? '')) {
      const headers = cells(line);
      const rows: string[][] = [];
      for (i += 2; i < lines.length && lines[i]!.trim().startsWith('|'); i++)
        rows.push(cells(lines[i]!));
      i--;
      out.push(htmlTable(headers, rows));
    } else if (/^#+ /.test(line)) {
      out.push(`<h4>${escapeHtml(line.replace(/^#+ /, ''))}</h4>`);
    } else if (line.trim() !== '') {
      out.push(`<p>${escapeHtml(line)}</p>`);
    }
  }
  return out.join('\n');
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.5rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: #999; text-align: center; }
figure.plot { display: inline-block; margin: 0.5rem 1rem 0.5rem 0; }
figure.plot svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #555; max-width: 640px; }
details.meta { font-size: 0.85rem; margin: 0.5rem 0; }
details.meta table { font-size: 0.8rem; }
.note { color: #555; font-size: 0.9rem; }
nav ul { columns: 2; }
code { background: #f5f5f5; padding: 0 0.2rem; }
`;

export function page(title: string, intro: string, body: readonly string[]): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
${intro}
${body.join('\n')}
</body>
</html>
`;
}
