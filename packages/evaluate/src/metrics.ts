import { checkLabels, checkLogits } from './confidence.js';
import { requireFinite, requireSameLength } from './validate.js';

/** Euclidean distance between two weight vectors of the same layout, summed in float64. */
export function l2Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  requireSameLength('l2Distance', { name: 'a', length: a.length }, { name: 'b', length: b.length });
  requireFinite('l2Distance', 'a', a);
  requireFinite('l2Distance', 'b', b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/**
 * Pearson correlation of two samples (for the approximate against the actual loss change).
 * NaN when either is constant: there is no correlation to report.
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const where = 'pearson';
  requireSameLength(where, { name: 'a', length: a.length }, { name: 'b', length: b.length });
  requireFinite(where, 'a', a);
  requireFinite(where, 'b', b);
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]! / n;
    mb += b[i]! / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** The fraction of rows whose largest logit is the label's (ties: the first class wins). */
export function accuracy(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): number {
  const n = checkLabelledLogits('accuracy', logits, labels, classes);
  if (n === 0) return Number.NaN;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (logits[row + c]! > logits[row + best]!) best = c;
    if (best === labels[i]) correct++;
  }
  return correct / n;
}

/** Per-row softmax cross-entropy `logsumexp(z) - z_y`, in float64 (stable for large logits). */
export function crossEntropyLosses(
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): Float64Array {
  const n = checkLabelledLogits('crossEntropyLosses', logits, labels, classes);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[row + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(logits[row + c]! - max);
    out[i] = max + Math.log(sum) - logits[row + labels[i]!]!;
  }
  return out;
}

function checkLabelledLogits(
  where: string,
  logits: ArrayLike<number>,
  labels: ArrayLike<number>,
  classes: number,
): number {
  const n = checkLogits(where, logits, classes);
  checkLabels(where, labels, n, classes);
  return n;
}
