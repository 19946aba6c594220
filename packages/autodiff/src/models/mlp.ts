import { requireWhole } from '../check.js';
import { dense } from '../layers/dense.js';
import { relu } from '../layers/relu.js';
import { type Model, sequential } from '../model.js';

export interface MlpOptions {
  readonly inputs?: number;
  readonly hidden?: number;
  readonly classes?: number;
  readonly inputShape?: readonly number[];
}

/**
 * Two-layer perceptron in -> hidden -> classes with ReLU (the paper's tabular model, hidden 64).
 * Layout: "fc1.weight" [hidden, inputs + 1], "fc2.weight" [classes, hidden + 1]; bias in the last column.
 */
export function mlp(options: MlpOptions = {}): Model {
  const inputs = requireWhole('mlp', 'inputs', options.inputs ?? 784, 1);
  const hidden = requireWhole('mlp', 'hidden', options.hidden ?? 64, 1);
  const classes = requireWhole('mlp', 'classes', options.classes ?? 10, 2);
  return sequential('mlp', [
    { name: 'fc1', layer: dense(inputs, hidden, options.inputShape) },
    { name: 'relu1', layer: relu([hidden]) },
    { name: 'fc2', layer: dense(hidden, classes) },
  ]);
}
