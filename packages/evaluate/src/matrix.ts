import { LetheError } from '@lethe/core';
/** A dense row-major matrix of float64 features, one row per sample. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function checkMatrix(where: string, name: string, m: Matrix): void {
  if (
    !Number.isInteger(m.rows) ||
    !Number.isInteger(m.cols) ||
    m.rows < 1 ||
    m.cols < 1 ||
    m.data.length !== m.rows * m.cols
  ) {
    throw new LetheError(
      'invalid-argument',
      `${where}: ${name} is ${m.rows} x ${m.cols} with ${m.data.length} values; it needs rows, cols >= 1 and rows x cols values.`,
    );
  }
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i]!)) {
      throw new LetheError(
        'non-finite',
        `${where}: ${name} row ${Math.floor(i / m.cols)}, column ${i % m.cols} is ${m.data[i]}; features must be finite (check the posteriors they came from, or drop the sample).`,
      );
    }
  }
}

/** Per-column mean and standard deviation (a constant column gets scale 1). */
export interface Standardizer {
  readonly mean: Float64Array;
  readonly scale: Float64Array;
}

export function fitStandardizer(m: Matrix): Standardizer {
  const mean = new Float64Array(m.cols);
  const scale = new Float64Array(m.cols);
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++) mean[c]! += m.data[r * m.cols + c]! / m.rows;
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++) scale[c]! += (m.data[r * m.cols + c]! - mean[c]!) ** 2;
  for (let c = 0; c < m.cols; c++) {
    const sd = Math.sqrt(scale[c]! / m.rows);
    scale[c] = sd > 1e-12 ? sd : 1;
  }
  return { mean, scale };
}

export function applyStandardizer(s: Standardizer, m: Matrix): Float64Array {
  const out = new Float64Array(m.data.length);
  for (let r = 0; r < m.rows; r++)
    for (let c = 0; c < m.cols; c++)
      out[r * m.cols + c] = (m.data[r * m.cols + c]! - s.mean[c]!) / s.scale[c]!;
  return out;
}
