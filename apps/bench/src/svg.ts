/**
 * Minimal SVG charts (line and scatter) for the bench's plots: no runtime dependency, and
 * deterministic output so that results can be compared as files.
 */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** 'line' joins the points; 'points' draws markers only. */
  readonly style?: 'line' | 'points';
  /**
   * Spread around each point (e.g. the standard deviation over seeds), same order as `points`:
   * drawn as a band around a line, as error bars on markers.
   */
  readonly spread?: readonly number[];
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Draw the y = x diagonal (for scatter plots of predicted vs actual). */
  readonly diagonal?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
];

export function chart(series: readonly Series[], options: ChartOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 420;
  const m = { left: 70, right: 160, top: 40, bottom: 55 };
  const tx = (v: number) => (options.logX ? Math.log10(v) : v);
  const ty = (v: number) => (options.logY ? Math.log10(v) : v);
  const pts = series
    .flatMap((s) => [...s.points, ...spreadEnds(s)])
    .filter(([x, y]) => Number.isFinite(tx(x)) && Number.isFinite(ty(y)));
  if (pts.length === 0) throw new Error(`chart "${options.title}": no finite points to draw.`);
  let [x0, x1] = extent(pts.map(([x]) => tx(x)));
  let [y0, y1] = extent(pts.map(([, y]) => ty(y)));
  if (options.diagonal) {
    x0 = y0 = Math.min(x0, y0);
    x1 = y1 = Math.max(x1, y1);
  }
  const sx = (v: number) => m.left + ((tx(v) - x0) / (x1 - x0)) * (width - m.left - m.right);
  const sy = (v: number) =>
    height - m.bottom - ((ty(v) - y0) / (y1 - y0)) * (height - m.top - m.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2 - m.right / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(options.title)}</text>`,
  ];
  for (const t of options.logX ? logTicks(x0, x1) : ticks(x0, x1)) {
    const v = options.logX ? 10 ** t : t;
    const x = sx(v);
    out.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${height - m.bottom}" stroke="#eee"/>`);
    out.push(
      `<text x="${x}" y="${height - m.bottom + 16}" text-anchor="middle">${label(v)}</text>`,
    );
  }
  for (const t of options.logY ? logTicks(y0, y1) : ticks(y0, y1)) {
    const v = options.logY ? 10 ** t : t;
    const y = sy(v);
    out.push(`<line x1="${m.left}" y1="${y}" x2="${width - m.right}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${m.left - 6}" y="${y + 4}" text-anchor="end">${label(v)}</text>`);
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${width - m.left - m.right}" height="${height - m.top - m.bottom}" fill="none" stroke="#333"/>`,
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(options.xLabel)}</text>`,
    `<text transform="translate(16 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(options.yLabel)}</text>`,
  );
  if (options.diagonal) {
    const lo = options.logX ? 10 ** x0 : x0;
    const hi = options.logX ? 10 ** x1 : x1;
    out.push(
      `<line x1="${sx(lo)}" y1="${sy(lo)}" x2="${sx(hi)}" y2="${sy(hi)}" stroke="#999" stroke-dasharray="4 3"/>`,
    );
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const valid = s.points.filter(([x, y]) => Number.isFinite(tx(x)) && Number.isFinite(ty(y)));
    if (s.spread)
      out.push(
        ...spreadMarks(
          s,
          color,
          sx,
          sy,
          (x, y) => Number.isFinite(tx(x)) && Number.isFinite(ty(y)),
        ),
      );
    if ((s.style ?? 'line') === 'line' && valid.length > 1) {
      const d = valid
        .map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${sx(x).toFixed(2)},${sy(y).toFixed(2)}`)
        .join(' ');
      out.push(`<path class="mark" d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    }
    for (const [x, y] of valid) {
      out.push(
        `<circle class="mark" cx="${sx(x).toFixed(2)}" cy="${sy(y).toFixed(2)}" r="${s.style === 'points' ? 2.5 : 3}" fill="${color}" fill-opacity="0.8"/>`,
      );
    }
    const ly = m.top + 10 + i * 18;
    out.push(
      `<rect x="${width - m.right + 12}" y="${ly - 8}" width="12" height="12" fill="${color}"/>`,
    );
    out.push(`<text x="${width - m.right + 30}" y="${ly + 2}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The ends of each point's spread, so that the axes hold them. */
function spreadEnds(s: Series): (readonly [number, number])[] {
  if (!s.spread) return [];
  return s.points.flatMap(([x, y], i) => {
    const e = s.spread![i] ?? 0;
    return [
      [x, y - e],
      [x, y + e],
    ] as const;
  });
}

/**
 * A series' spread: a translucent band between mean - spread and mean + spread for lines,
 * error bars for markers. A lower end that the axis cannot show (<= 0 on a log axis) is cut at
 * the point itself.
 */
function spreadMarks(
  s: Series,
  color: string,
  sx: (v: number) => number,
  sy: (v: number) => number,
  shown: (x: number, y: number) => boolean,
): string[] {
  const rows = s.points
    .map(([x, y], i) => {
      const e = s.spread![i] ?? 0;
      return { x, y, lo: shown(x, y - e) ? y - e : y, hi: y + e };
    })
    .filter((r) => shown(r.x, r.y) && shown(r.x, r.hi));
  if ((s.style ?? 'line') === 'line' && rows.length > 1) {
    const top = rows.map(
      (r, j) => `${j === 0 ? 'M' : 'L'}${sx(r.x).toFixed(2)},${sy(r.hi).toFixed(2)}`,
    );
    const bottom = [...rows].reverse().map((r) => `L${sx(r.x).toFixed(2)},${sy(r.lo).toFixed(2)}`);
    return [
      `<path class="mark band" d="${[...top, ...bottom].join(' ')} Z" fill="${color}" fill-opacity="0.18" stroke="none"/>`,
    ];
  }
  return rows
    .filter((r) => r.hi > r.lo)
    .map((r) => {
      const x = sx(r.x).toFixed(2);
      return `<path class="mark error-bar" d="M${x},${sy(r.lo).toFixed(2)} L${x},${sy(r.hi).toFixed(2)} M${(sx(r.x) - 4).toFixed(2)},${sy(r.lo).toFixed(2)} h8 M${(sx(r.x) - 4).toFixed(2)},${sy(r.hi).toFixed(2)} h8" stroke="${color}" stroke-width="1.2" fill="none"/>`;
    });
}

function extent(values: number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

function ticks(lo: number, hi: number, count = 6): number[] {
  const step = 10 ** Math.floor(Math.log10((hi - lo) / count));
  const err = (count * step) / (hi - lo);
  const nice = step * (err <= 0.15 ? 10 : err <= 0.35 ? 5 : err <= 0.75 ? 2 : 1);
  const out: number[] = [];
  for (let t = Math.ceil(lo / nice) * nice; t <= hi + 1e-12; t += nice)
    out.push(Number(t.toPrecision(12)));
  return out;
}

/** Ticks of a log10 axis (values in log10 units): 1, 2, 5 times powers of ten. */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  const mantissas = hi - lo > 3 ? [1] : [1, 2, 5];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of mantissas) {
      const t = e + Math.log10(m);
      if (t >= lo && t <= hi) out.push(t);
    }
  }
  return out;
}

function label(v: number): string {
  const a = Math.abs(v);
  if (v === 0) return '0';
  if (a >= 1e4 || a < 1e-2) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
