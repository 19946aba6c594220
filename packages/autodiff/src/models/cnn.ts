import { LetheError } from '@lethe/core';
import { requireWhole } from '../check.js';
import { conv2d } from '../layers/conv2d.js';
import { convPair } from '../layers/convpair.js';
import { dense } from '../layers/dense.js';
import { maxPool2d } from '../layers/maxpool.js';
import { relu } from '../layers/relu.js';
import { type Model, type NamedLayer, sequential } from '../model.js';

export interface CnnOptions {
  /** Per-sample input shape [H, W, C] (default MNIST, [28, 28, 1]). */
  readonly inputShape?: readonly number[];
  readonly classes?: number;
}

/**
 * The paper's MNIST CNN: conv 1->10 k5, maxpool 2, relu, conv 10->20 k5, maxpool 2, relu,
 * fc 320->50, relu, fc 50->10 (d = 21,840 for 28x28x1 inputs and 10 classes).
 *
 * The two convolutions, their poolings and the ReLU between them form one convPair layer
 * ("features"): the same function and parameters as the separate layers (cnnUnfusedLayers), with
 * the Hessian products of the first block folded into fixed per-point matrices.
 *
 * Layout (NHWC throughout; for [28, 28, 1]):
 *   features.conv1.weight [5, 5, 1, 10]   features.conv1.bias [10]
 *   features.conv2.weight [5, 5, 10, 20]  features.conv2.bias [20]
 *   fc1.weight   [50, 321]       (row o = W[o, :] then b[o]; inputs in (h, w, c) order of the
 *                                 [4, 4, 20] feature map, not PyTorch's (c, h, w))
 *   fc2.weight   [10, 51]
 */
export function cnnLayers(options: CnnOptions = {}): NamedLayer[] {
  const inputShape = checkImageShape('cnn', options.inputShape ?? [28, 28, 1]);
  const classes = requireWhole('cnn', 'classes', options.classes ?? 10, 2);
  const features = convPair({
    first: { inChannels: inputShape[2], outChannels: 10, kernel: 5, inputShape },
    second: { inChannels: 10, outChannels: 20, kernel: 5 },
  });
  const flat = features.outputShape.reduce((a, b) => a * b, 1);
  return [
    { name: 'features', layer: features },
    { name: 'relu2', layer: relu(features.outputShape) },
    { name: 'fc1', layer: dense(flat, 50, features.outputShape) },
    { name: 'relu3', layer: relu([50]) },
    { name: 'fc2', layer: dense(50, classes) },
  ];
}

/**
 * The same network from separate conv2d and maxPool2d layers (the reference the fused layers are
 * tested against; slower: the pooling discards three quarters of the convolutions' outputs).
 */
export function cnnUnfusedLayers(options: CnnOptions = {}): NamedLayer[] {
  const inputShape = checkImageShape('cnn', options.inputShape ?? [28, 28, 1]);
  const classes = requireWhole('cnn', 'classes', options.classes ?? 10, 2);
  const conv1 = conv2d({ inChannels: inputShape[2], outChannels: 10, kernel: 5, inputShape });
  const pool1 = maxPool2d(2, conv1.outputShape);
  const conv2 = conv2d({
    inChannels: 10,
    outChannels: 20,
    kernel: 5,
    inputShape: pool1.outputShape,
  });
  const pool2 = maxPool2d(2, conv2.outputShape);
  const flat = pool2.outputShape.reduce((a, b) => a * b, 1);
  return [
    { name: 'conv1', layer: conv1 },
    { name: 'pool1', layer: pool1 },
    { name: 'relu1', layer: relu(pool1.outputShape) },
    { name: 'conv2', layer: conv2 },
    { name: 'pool2', layer: pool2 },
    { name: 'relu2', layer: relu(pool2.outputShape) },
    { name: 'fc1', layer: dense(flat, 50, pool2.outputShape) },
    { name: 'relu3', layer: relu([50]) },
    { name: 'fc2', layer: dense(50, classes) },
  ];
}

export function cnn(options: CnnOptions = {}): Model {
  return sequential('cnn', cnnLayers(options));
}

/** Validates an image input shape [H, W, C]. */
export function checkImageShape(model: string, shape: readonly number[]): [number, number, number] {
  if (shape.length !== 3 || !shape.every((s) => Number.isInteger(s) && s > 0)) {
    throw new LetheError(
      'invalid-argument',
      `Model ${model}: inputShape must be an image shape [H, W, C] of whole numbers >= 1 (e.g. [28, 28, 1]), got [${shape}]; flat inputs need the logistic or mlp model.`,
    );
  }
  return shape as [number, number, number];
}
