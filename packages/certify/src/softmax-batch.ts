// Float64 batch kernels of L2-regularised softmax regression, weights laid out
// [classes, inputs + 1] with the bias last, for the removal bound's replay. Plain loops: the
// bound must be evaluated in float64, which TensorFlow.js's wasm and cpu backends do not offer.

/** The shape of one softmax-regression problem. */
export interface SoftmaxShape {
  readonly classes: number;
  readonly inputs: number;
  /** The training inputs, row-major [n, inputs]. */
  readonly x: ArrayLike<number>;
}

/** Logits z_i = W x~_i of each batch row, [batch, classes]. */
export function batchLogits(
  shape: SoftmaxShape,
  w: ArrayLike<number>,
  batch: ArrayLike<number>,
): Float64Array {
  const { classes, inputs, x } = shape;
  const stride = inputs + 1;
  const out = new Float64Array(batch.length * classes);
  for (let k = 0; k < batch.length; k++) {
    const at = batch[k]! * inputs;
    for (let c = 0; c < classes; c++) {
      const row = c * stride;
      let s = w[row + inputs]!;
      for (let j = 0; j < inputs; j++) s += w[row + j]! * x[at + j]!;
      out[k * classes + c] = s;
    }
  }
  return out;
}

/** Softmax of each row of [rows, classes] logits. */
export function softmaxRows(logits: Float64Array, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let at = 0; at < logits.length; at += classes) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[at + c]!);
    let total = 0;
    for (let c = 0; c < classes; c++) {
      const e = Math.exp(logits[at + c]! - max);
      out[at + c] = e;
      total += e;
    }
    for (let c = 0; c < classes; c++) out[at + c]! /= total;
  }
  return out;
}

/** out += sum_k coeff_k x~_k^T: the outer products that every gradient and HVP here ends in. */
export function accumulateOuter(
  shape: SoftmaxShape,
  out: Float64Array,
  coeffs: Float64Array,
  batch: ArrayLike<number>,
): void {
  const { classes, inputs, x } = shape;
  const stride = inputs + 1;
  for (let k = 0; k < batch.length; k++) {
    const at = batch[k]! * inputs;
    for (let c = 0; c < classes; c++) {
      const a = coeffs[k * classes + c]!;
      if (a === 0) continue;
      const row = c * stride;
      for (let j = 0; j < inputs; j++) out[row + j]! += a * x[at + j]!;
      out[row + inputs]! += a;
    }
  }
}

/** S v = p o v - p (p . v): the Hessian of cross-entropy in the logits, applied to v. */
export function covarianceApply(p: Float64Array, v: Float64Array, at: number, classes: number) {
  let mean = 0;
  for (let c = 0; c < classes; c++) mean += p[at + c]! * v[at + c]!;
  const out = new Float64Array(classes);
  for (let c = 0; c < classes; c++) out[c] = p[at + c]! * (v[at + c]! - mean);
  return out;
}

/**
 * T[u, u] = p o ((u - mu)^2 - sigma^2), mu and sigma^2 the mean and variance of u under p: the
 * third derivative of log-sum-exp contracted twice with u.
 */
export function thirdApply(p: Float64Array, u: Float64Array, at: number, classes: number) {
  let mean = 0;
  for (let c = 0; c < classes; c++) mean += p[at + c]! * u[at + c]!;
  let variance = 0;
  for (let c = 0; c < classes; c++) variance += p[at + c]! * (u[at + c]! - mean) ** 2;
  const out = new Float64Array(classes);
  for (let c = 0; c < classes; c++) out[c] = p[at + c]! * ((u[at + c]! - mean) ** 2 - variance);
  return out;
}

/** Squared norm of x~_i = (x_i, 1). */
export function augmentedSquaredNorm(shape: SoftmaxShape, row: number): number {
  const { inputs, x } = shape;
  let s = 1;
  for (let j = 0; j < inputs; j++) s += x[row * inputs + j]! ** 2;
  return s;
}

export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! ** 2;
  return Math.sqrt(s);
}

/** The gradient-clipping Jacobian D at g (the identity inside the ball of radius C), applied in place. */
export function clipJacobianApply(g: Float64Array, gNorm: number, clip: number, v: Float64Array) {
  if (gNorm <= clip) return;
  let dot = 0;
  for (let i = 0; i < v.length; i++) dot += g[i]! * v[i]!;
  const scale = clip / gNorm;
  const along = dot / (gNorm * gNorm);
  for (let i = 0; i < v.length; i++) v[i] = scale * (v[i]! - along * g[i]!);
}
