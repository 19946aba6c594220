import { LetheError, Rng } from '@lethe/core';
import { applyStandardizer, checkMatrix, fitStandardizer, type Matrix } from './matrix.js';
import { requireBinaryLabels, requirePositiveInteger, requireSameLength } from './validate.js';

export type AttackClassifier = 'logistic' | 'mlp';

export interface AttackOptions {
  readonly classifier: AttackClassifier;
  /** Seeds the MLP's initial weights (logistic regression starts at 0 and needs none). */
  readonly seed: number;
  /** Full-batch Adam steps. Default 500. */
  readonly epochs?: number;
  /** Adam step size. Default 0.05 (logistic), 0.01 (mlp). */
  readonly learningRate?: number;
  /** L2 penalty (l2/2)||W||^2 on the weights, not the biases. Default 1e-3. */
  readonly l2?: number;
  /** Hidden units of the MLP (one tanh layer). Default 32. */
  readonly hidden?: number;
}

/** A trained attack: `score` gives the decision logit, higher = more likely a member. */
export interface AttackModel {
  readonly classifier: AttackClassifier;
  readonly cols: number;
  /** Final training loss (class-balanced cross-entropy plus the penalty). */
  readonly loss: number;
  score(features: Matrix): Float64Array;
}

/**
 * Trains the attack classifier by full-batch Adam on standardised features (the standardiser is
 * fitted on the training rows only and reused for scoring). The loss is class-balanced binary
 * cross-entropy, so an unbalanced shadow set does not move the decision threshold. Plain
 * float64 arithmetic: deterministic for a seed on any machine. Scores are logits, not
 * probabilities, because probabilities saturate at 1 and would tie.
 */
export function trainAttack(
  features: Matrix,
  labels: ArrayLike<number>,
  options: AttackOptions,
): AttackModel {
  const where = 'trainAttack';
  checkMatrix(where, 'features', features);
  requireSameLength(
    where,
    { name: 'features (rows)', length: features.rows },
    { name: 'labels', length: labels.length },
  );
  const { positives, negatives } = requireBinaryLabels(where, 'labels', labels);
  const classifier = options.classifier;
  if (classifier !== 'logistic' && classifier !== 'mlp')
    throw new LetheError(
      'invalid-argument',
      `${where}: classifier must be 'logistic' or 'mlp', got '${classifier}'.`,
    );
  const epochs = requirePositiveInteger(where, 'epochs', options.epochs ?? 500);
  const lr = options.learningRate ?? (classifier === 'logistic' ? 0.05 : 0.01);
  const l2 = options.l2 ?? 1e-3;
  const hidden = requirePositiveInteger(where, 'hidden', options.hidden ?? 32);
  if (!(lr > 0) || !Number.isFinite(lr))
    throw new LetheError(
      'invalid-argument',
      `${where}: learningRate must be a finite number > 0, got ${lr}; leave it out for the default (${classifier === 'logistic' ? 0.05 : 0.01}).`,
    );
  if (!(l2 >= 0) || !Number.isFinite(l2))
    throw new LetheError(
      'invalid-argument',
      `${where}: l2 must be a finite number >= 0, got ${l2}; leave it out for the default 1e-3.`,
    );
  if (!Number.isInteger(options.seed))
    throw new LetheError(
      'invalid-argument',
      `${where}: seed must be a whole number, got ${options.seed}; the same seed gives the same attack.`,
    );

  const standardizer = fitStandardizer(features);
  const x = applyStandardizer(standardizer, features);
  const { rows, cols } = features;
  const sampleWeight = Float64Array.from({ length: rows }, (_, i) =>
    labels[i] === 1 ? rows / (2 * positives) : rows / (2 * negatives),
  );
  const net =
    classifier === 'logistic' ? new LogisticNet(cols) : new MlpNet(cols, hidden, options.seed);
  const adam = new Adam(net.params.length, lr);
  const grad = new Float64Array(net.params.length);
  const logits = new Float64Array(rows);
  let loss = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    net.forward(x, rows, logits);
    // d(loss)/d(logit) for weighted mean BCE: w_i (sigmoid(z_i) - y_i) / rows.
    const dz = new Float64Array(rows);
    loss = 0;
    for (let i = 0; i < rows; i++) {
      const z = logits[i]!;
      const y = labels[i]!;
      // log(1 + e^z) - y z, stably.
      loss +=
        (sampleWeight[i]! * (Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z)) / rows;
      dz[i] = (sampleWeight[i]! * (sigmoid(z) - y)) / rows;
    }
    grad.fill(0);
    net.backward(x, rows, dz, grad);
    loss += net.penalty(l2, grad);
    adam.step(net.params, grad);
  }
  net.forward(x, rows, logits);
  return {
    classifier,
    cols,
    loss,
    score(m: Matrix): Float64Array {
      checkMatrix('AttackModel.score', 'features', m);
      if (m.cols !== cols) {
        throw new LetheError(
          'shape-mismatch',
          `AttackModel.score: features have ${m.cols} columns but the attack was trained on ${cols}; use the same feature kind for training and scoring.`,
        );
      }
      const out = new Float64Array(m.rows);
      net.forward(applyStandardizer(standardizer, m), m.rows, out);
      return out;
    },
  };
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

interface Net {
  readonly params: Float64Array;
  forward(x: Float64Array, rows: number, out: Float64Array): void;
  /** Adds d(loss)/d(params) to grad, given d(loss)/d(logit) per row (forward was just run). */
  backward(x: Float64Array, rows: number, dz: Float64Array, grad: Float64Array): void;
  /** Adds the penalty's gradient to grad and returns its value. */
  penalty(l2: number, grad: Float64Array): number;
}

/** params = [w (cols), b]. */
class LogisticNet implements Net {
  readonly params: Float64Array;
  constructor(private readonly cols: number) {
    this.params = new Float64Array(cols + 1);
  }
  forward(x: Float64Array, rows: number, out: Float64Array): void {
    const { cols, params: p } = this;
    for (let i = 0; i < rows; i++) {
      let z = p[cols]!;
      for (let c = 0; c < cols; c++) z += p[c]! * x[i * cols + c]!;
      out[i] = z;
    }
  }
  backward(x: Float64Array, rows: number, dz: Float64Array, grad: Float64Array): void {
    const { cols } = this;
    for (let i = 0; i < rows; i++) {
      const g = dz[i]!;
      for (let c = 0; c < cols; c++) grad[c]! += g * x[i * cols + c]!;
      grad[cols]! += g;
    }
  }
  penalty(l2: number, grad: Float64Array): number {
    let s = 0;
    for (let c = 0; c < this.cols; c++) {
      s += this.params[c]! ** 2;
      grad[c]! += l2 * this.params[c]!;
    }
    return (l2 / 2) * s;
  }
}

/** One tanh hidden layer; params = [W1 (hidden x cols), b1 (hidden), w2 (hidden), b2]. */
class MlpNet implements Net {
  readonly params: Float64Array;
  private activations = new Float64Array(0);
  constructor(
    private readonly cols: number,
    private readonly hidden: number,
    seed: number,
  ) {
    this.params = new Float64Array(hidden * cols + 2 * hidden + 1);
    // Glorot-uniform weights, zero biases.
    const rng = new Rng(seed);
    const a1 = Math.sqrt(6 / (cols + hidden));
    for (let k = 0; k < hidden * cols; k++) this.params[k] = rng.uniform(-a1, a1);
    const a2 = Math.sqrt(6 / (hidden + 1));
    const w2 = hidden * cols + hidden;
    for (let j = 0; j < hidden; j++) this.params[w2 + j] = rng.uniform(-a2, a2);
  }
  forward(x: Float64Array, rows: number, out: Float64Array): void {
    const { cols, hidden, params: p } = this;
    if (this.activations.length !== rows * hidden)
      this.activations = new Float64Array(rows * hidden);
    const h = this.activations;
    const b1 = hidden * cols;
    const w2 = b1 + hidden;
    const b2 = w2 + hidden;
    for (let i = 0; i < rows; i++) {
      let z = p[b2]!;
      for (let j = 0; j < hidden; j++) {
        let a = p[b1 + j]!;
        for (let c = 0; c < cols; c++) a += p[j * cols + c]! * x[i * cols + c]!;
        const t = Math.tanh(a);
        h[i * hidden + j] = t;
        z += p[w2 + j]! * t;
      }
      out[i] = z;
    }
  }
  backward(x: Float64Array, rows: number, dz: Float64Array, grad: Float64Array): void {
    const { cols, hidden, params: p } = this;
    const h = this.activations;
    const b1 = hidden * cols;
    const w2 = b1 + hidden;
    const b2 = w2 + hidden;
    for (let i = 0; i < rows; i++) {
      const g = dz[i]!;
      grad[b2]! += g;
      for (let j = 0; j < hidden; j++) {
        const t = h[i * hidden + j]!;
        grad[w2 + j]! += g * t;
        const da = g * p[w2 + j]! * (1 - t * t);
        grad[b1 + j]! += da;
        for (let c = 0; c < cols; c++) grad[j * cols + c]! += da * x[i * cols + c]!;
      }
    }
  }
  penalty(l2: number, grad: Float64Array): number {
    const { cols, hidden, params: p } = this;
    const w2 = hidden * cols + hidden;
    let s = 0;
    const add = (k: number) => {
      s += p[k]! ** 2;
      grad[k]! += l2 * p[k]!;
    };
    for (let k = 0; k < hidden * cols; k++) add(k);
    for (let j = 0; j < hidden; j++) add(w2 + j);
    return (l2 / 2) * s;
  }
}

/** Adam (Kingma & Ba) with the usual defaults beta1 0.9, beta2 0.999, eps 1e-8. */
class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private t = 0;
  constructor(
    size: number,
    private readonly lr: number,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }
  step(params: Float64Array, grad: Float64Array): void {
    this.t++;
    const c1 = 1 - 0.9 ** this.t;
    const c2 = 1 - 0.999 ** this.t;
    for (let k = 0; k < params.length; k++) {
      const g = grad[k]!;
      this.m[k] = 0.9 * this.m[k]! + 0.1 * g;
      this.v[k] = 0.999 * this.v[k]! + 0.001 * g * g;
      params[k]! -= (this.lr * (this.m[k]! / c1)) / (Math.sqrt(this.v[k]! / c2) + 1e-8);
    }
  }
}
