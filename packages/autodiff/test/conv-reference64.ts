/**
 * Float64 plain-TypeScript references for 2-D convolution (stride 1, NHWC images, HWIO filters,
 * zero padding p) and 2x2 max pooling, written loop by loop from the definitions, to check the
 * tfjs layers. No tfjs here.
 */
export interface ConvDims {
  b: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  kh: number;
  kw: number;
  p: number;
}

export const outDims = (d: ConvDims): { ho: number; wo: number } => ({
  ho: d.h + 2 * d.p - d.kh + 1,
  wo: d.w + 2 * d.p - d.kw + 1,
});

/** x[b, r, s, c] with zeros outside the image. */
const at = (d: ConvDims, x: ArrayLike<number>, b: number, r: number, s: number, c: number) =>
  r < 0 || r >= d.h || s < 0 || s >= d.w ? 0 : x[((b * d.h + r) * d.w + s) * d.ci + c]!;

/** y = conv(x, W) + bias: y[b, i, j, o] = bias[o] + sum_{u,v,c} x[b, i+u-p, j+v-p, c] W[u, v, c, o]. */
export function conv64(
  d: ConvDims,
  x: ArrayLike<number>,
  wt: ArrayLike<number>,
  bias: ArrayLike<number> | null,
): Float64Array {
  const { ho, wo } = outDims(d);
  const y = new Float64Array(d.b * ho * wo * d.co);
  for (let b = 0; b < d.b; b++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++)
        for (let o = 0; o < d.co; o++) {
          let s = bias ? bias[o]! : 0;
          for (let u = 0; u < d.kh; u++)
            for (let v = 0; v < d.kw; v++)
              for (let c = 0; c < d.ci; c++)
                s +=
                  at(d, x, b, i + u - d.p, j + v - d.p, c) *
                  wt[((u * d.kw + v) * d.ci + c) * d.co + o]!;
          y[((b * ho + i) * wo + j) * d.co + o] = s;
        }
  return y;
}

/**
 * Filter gradient of sum <g, conv(x, W)>: dW[u, v, c, o] = sum_{b,i,j} x[b, i+u-p, j+v-p, c] g[b, i, j, o],
 * summed over the batch, or per sample when `sample` is given.
 */
export function filterGrad64(
  d: ConvDims,
  x: ArrayLike<number>,
  g: ArrayLike<number>,
  sample?: number,
): Float64Array {
  const { ho, wo } = outDims(d);
  const dw = new Float64Array(d.kh * d.kw * d.ci * d.co);
  const bs = sample === undefined ? [...Array(d.b).keys()] : [sample];
  for (const b of bs)
    for (let u = 0; u < d.kh; u++)
      for (let v = 0; v < d.kw; v++)
        for (let c = 0; c < d.ci; c++)
          for (let o = 0; o < d.co; o++) {
            let s = 0;
            for (let i = 0; i < ho; i++)
              for (let j = 0; j < wo; j++)
                s +=
                  at(d, x, b, i + u - d.p, j + v - d.p, c) * g[((b * ho + i) * wo + j) * d.co + o]!;
            dw[((u * d.kw + v) * d.ci + c) * d.co + o]! += s;
          }
  return dw;
}

/** Input gradient of sum <g, conv(x, W)>: dx[b, r, s, c] = sum g[b, i, j, o] W[u, v, c, o] over r = i+u-p, s = j+v-p. */
export function inputGrad64(
  d: ConvDims,
  g: ArrayLike<number>,
  wt: ArrayLike<number>,
): Float64Array {
  const { ho, wo } = outDims(d);
  const dx = new Float64Array(d.b * d.h * d.w * d.ci);
  for (let b = 0; b < d.b; b++)
    for (let i = 0; i < ho; i++)
      for (let j = 0; j < wo; j++)
        for (let u = 0; u < d.kh; u++)
          for (let v = 0; v < d.kw; v++) {
            const r = i + u - d.p;
            const s = j + v - d.p;
            if (r < 0 || r >= d.h || s < 0 || s >= d.w) continue;
            for (let c = 0; c < d.ci; c++) {
              let acc = 0;
              for (let o = 0; o < d.co; o++)
                acc +=
                  g[((b * ho + i) * wo + j) * d.co + o]! *
                  wt[((u * d.kw + v) * d.ci + c) * d.co + o]!;
              dx[((b * d.h + r) * d.w + s) * d.ci + c]! += acc;
            }
          }
  return dx;
}

/** Bias gradient: sum of g over batch and positions, [co] (or per sample). */
export function biasGrad64(d: ConvDims, g: ArrayLike<number>, sample?: number): Float64Array {
  const { ho, wo } = outDims(d);
  const db = new Float64Array(d.co);
  for (let b = 0; b < d.b; b++) {
    if (sample !== undefined && b !== sample) continue;
    for (let q = 0; q < ho * wo; q++)
      for (let o = 0; o < d.co; o++) db[o]! += g[(b * ho * wo + q) * d.co + o]!;
  }
  return db;
}

/**
 * 2x2 max pooling, stride 2, floor: returns the pooled values and, per output, the flat input
 * index of the first maximum in row-major window order.
 */
export function maxPool64(
  shape: { b: number; h: number; w: number; c: number },
  x: ArrayLike<number>,
): { y: Float64Array; arg: Int32Array } {
  const { b, h, w, c } = shape;
  const h2 = Math.floor(h / 2);
  const w2 = Math.floor(w / 2);
  const y = new Float64Array(b * h2 * w2 * c);
  const arg = new Int32Array(y.length);
  for (let n = 0; n < b; n++)
    for (let i = 0; i < h2; i++)
      for (let j = 0; j < w2; j++)
        for (let ch = 0; ch < c; ch++) {
          let best = Number.NEGATIVE_INFINITY;
          let where = -1;
          for (const [a, e] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ] as const) {
            const idx = ((n * h + 2 * i + a) * w + 2 * j + e) * c + ch;
            if (x[idx]! > best) {
              best = x[idx]!;
              where = idx;
            }
          }
          const o = ((n * h2 + i) * w2 + j) * c + ch;
          y[o] = best;
          arg[o] = where;
        }
  return { y, arg };
}
