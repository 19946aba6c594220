import { dense } from '../layers/dense.js';
import { type Model, sequential } from '../model.js';

export interface LogisticOptions {
  readonly inputs?: number;
  readonly classes?: number;
  readonly inputShape?: readonly number[];
}

/**
 * Multinomial logistic regression, logits = W x + b (MNIST: 784 -> 10, d = 7,850).
 * Layout: "fc.weight" [classes, inputs + 1], row c = (W[c, :], b[c]).
 */
export function logisticRegression(options: LogisticOptions = {}): Model {
  const inputs = options.inputs ?? 784;
  const classes = options.classes ?? 10;
  return sequential('logistic', [
    { name: 'fc', layer: dense(inputs, classes, options.inputShape) },
  ]);
}
