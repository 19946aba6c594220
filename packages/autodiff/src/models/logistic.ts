import { requireWhole } from '../check.js';
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
  const inputs = requireWhole('logisticRegression', 'inputs', options.inputs ?? 784, 1);
  const classes = requireWhole('logisticRegression', 'classes', options.classes ?? 10, 2);
  return sequential('logistic', [
    { name: 'fc', layer: dense(inputs, classes, options.inputShape) },
  ]);
}
