/**
 * Float64 plain-TypeScript reference for multinomial logistic regression, in Lethe's layout
 * (W [C, in + 1], bias in the last column), used to check the tfjs kernels.
 */
export interface Problem64 {
  inputs: number;
  classes: number;
  x: Float64Array; // [B, inputs]
  y: Int32Array;
  l2: number;
}

function probs(p: Problem64, w: ArrayLike<number>, i: number): Float64Array {
  const { inputs, classes, x } = p;
  const cols = inputs + 1;
  const z = new Float64Array(classes);
  for (let c = 0; c < classes; c++) {
    let s = w[c * cols + inputs]!;
    for (let j = 0; j < inputs; j++) s += w[c * cols + j]! * x[i * inputs + j]!;
    z[c] = s;
  }
  const m = Math.max(...z);
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    z[c] = Math.exp(z[c]! - m);
    sum += z[c]!;
  }
  return z.map((v) => v / sum);
}

const xAug = (p: Problem64, i: number, j: number): number =>
  j === p.inputs ? 1 : p.x[i * p.inputs + j]!;

/** Gradient of the mean cross-entropy plus (l2/2)||w||^2. */
export function gradient64(p: Problem64, w: ArrayLike<number>): Float64Array {
  const { inputs, classes, y, l2 } = p;
  const cols = inputs + 1;
  const b = y.length;
  const g = Float64Array.from(w, (v) => l2 * v);
  for (let i = 0; i < b; i++) {
    const pr = probs(p, w, i);
    pr[y[i]!]! -= 1;
    for (let c = 0; c < classes; c++)
      for (let j = 0; j < cols; j++) g[c * cols + j]! += (pr[c]! * xAug(p, i, j)) / b;
  }
  return g;
}

/** H v by the R-operator in float64. */
export function hvp64(p: Problem64, w: ArrayLike<number>, v: ArrayLike<number>): Float64Array {
  const { inputs, classes, y, l2 } = p;
  const cols = inputs + 1;
  const b = y.length;
  const out = Float64Array.from(v, (t) => l2 * t);
  for (let i = 0; i < b; i++) {
    const pr = probs(p, w, i);
    const zd = new Float64Array(classes);
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += v[c * cols + j]! * xAug(p, i, j);
      zd[c] = s;
    }
    let pz = 0;
    for (let c = 0; c < classes; c++) pz += pr[c]! * zd[c]!;
    for (let c = 0; c < classes; c++) {
      const s = pr[c]! * (zd[c]! - pz);
      for (let j = 0; j < cols; j++) out[c * cols + j]! += (s * xAug(p, i, j)) / b;
    }
  }
  return out;
}

/** The explicit Hessian (closed form): (1/B) sum_i (diag(p_i) - p_i p_i^T) kron x_i x_i^T + l2 I. */
export function hessian64(p: Problem64, w: ArrayLike<number>): Float64Array[] {
  const { inputs, classes, y, l2 } = p;
  const cols = inputs + 1;
  const d = classes * cols;
  const b = y.length;
  const h = Array.from({ length: d }, (_, r) => {
    const row = new Float64Array(d);
    row[r] = l2;
    return row;
  });
  for (let i = 0; i < b; i++) {
    const pr = probs(p, w, i);
    for (let c1 = 0; c1 < classes; c1++)
      for (let c2 = 0; c2 < classes; c2++) {
        const a = ((c1 === c2 ? pr[c1]! : 0) - pr[c1]! * pr[c2]!) / b;
        if (a === 0) continue;
        for (let j1 = 0; j1 < cols; j1++) {
          const row = h[c1 * cols + j1]!;
          const xa = a * xAug(p, i, j1);
          for (let j2 = 0; j2 < cols; j2++) row[c2 * cols + j2]! += xa * xAug(p, i, j2);
        }
      }
  }
  return h;
}
