import { requireWhole } from '../check.js';
import { conv2d } from '../layers/conv2d.js';
import { convPair } from '../layers/convpair.js';
import { dense } from '../layers/dense.js';
import { maxPool2d } from '../layers/maxpool.js';
import { relu } from '../layers/relu.js';
import { type Model, type NamedLayer, sequential } from '../model.js';
import { checkImageShape } from './cnn.js';

export interface LeNetOptions {
  /** Per-sample input shape [H, W, C] (default MNIST / Fashion-MNIST, [28, 28, 1]). */
  readonly inputShape?: readonly number[];
  readonly classes?: number;
}

/**
 * LeNet-5 as in the paper, for 28x28 inputs: conv 1->6 k5 pad 2, relu, maxpool 2, conv 6->16 k5,
 * relu, maxpool 2, fc 400->120, relu, fc 120->84, relu, fc 84->10
 * (d = 61,706 for 28x28x1 inputs and 10 classes).
 *
 * ReLU and 2x2 max pooling commute (max(relu(a), relu(b)) = relu(max(a, b)), and the derivatives
 * agree: where the routing could differ, the ReLU's derivative is 0 on both sides), so the
 * convolutions, poolings and the first ReLU form one convPair layer ("features", pooling before
 * ReLU) and the second ReLU follows it: the same function, gradient and Hessian products as the
 * paper's order (lenetUnfusedLayers).
 *
 * Layout (NHWC throughout; for [28, 28, 1]):
 *   features.conv1.weight [5, 5, 1, 6]    features.conv1.bias [6]     (156)
 *   features.conv2.weight [5, 5, 6, 16]   features.conv2.bias [16]    (2,416)
 *   fc1.weight   [120, 401]      (row o = W[o, :] then b[o]; inputs in (h, w, c) order of the
 *                                 [5, 5, 16] feature map)                   (48,120)
 *   fc2.weight   [84, 121]                                                  (10,164)
 *   fc3.weight   [10, 85]                                                   (850)
 */
export function lenetLayers(options: LeNetOptions = {}): NamedLayer[] {
  const inputShape = checkImageShape('lenet', options.inputShape ?? [28, 28, 1]);
  const classes = requireWhole('lenet', 'classes', options.classes ?? 10, 2);
  const features = convPair({
    first: { inChannels: inputShape[2], outChannels: 6, kernel: 5, padding: 2, inputShape },
    second: { inChannels: 6, outChannels: 16, kernel: 5 },
  });
  const flat = features.outputShape.reduce((a, b) => a * b, 1);
  return [
    { name: 'features', layer: features },
    { name: 'relu2', layer: relu(features.outputShape) },
    { name: 'fc1', layer: dense(flat, 120, features.outputShape) },
    { name: 'relu3', layer: relu([120]) },
    { name: 'fc2', layer: dense(120, 84) },
    { name: 'relu4', layer: relu([84]) },
    { name: 'fc3', layer: dense(84, classes) },
  ];
}

/** The paper's order, conv2d, relu, maxPool2d as separate layers (the reference for tests). */
export function lenetUnfusedLayers(options: LeNetOptions = {}): NamedLayer[] {
  const inputShape = checkImageShape('lenet', options.inputShape ?? [28, 28, 1]);
  const classes = requireWhole('lenet', 'classes', options.classes ?? 10, 2);
  const conv1 = conv2d({
    inChannels: inputShape[2],
    outChannels: 6,
    kernel: 5,
    padding: 2,
    inputShape,
  });
  const pool1 = maxPool2d(2, conv1.outputShape);
  const conv2 = conv2d({
    inChannels: 6,
    outChannels: 16,
    kernel: 5,
    inputShape: pool1.outputShape,
  });
  const pool2 = maxPool2d(2, conv2.outputShape);
  const flat = pool2.outputShape.reduce((a, b) => a * b, 1);
  return [
    { name: 'conv1', layer: conv1 },
    { name: 'relu1', layer: relu(conv1.outputShape) },
    { name: 'pool1', layer: pool1 },
    { name: 'conv2', layer: conv2 },
    { name: 'relu2', layer: relu(conv2.outputShape) },
    { name: 'pool2', layer: pool2 },
    { name: 'fc1', layer: dense(flat, 120, pool2.outputShape) },
    { name: 'relu3', layer: relu([120]) },
    { name: 'fc2', layer: dense(120, 84) },
    { name: 'relu4', layer: relu([84]) },
    { name: 'fc3', layer: dense(84, classes) },
  ];
}

export function lenet(options: LeNetOptions = {}): Model {
  return sequential('lenet', lenetLayers(options));
}
