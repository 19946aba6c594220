import { LetheError } from '@lethe/core';
import { requireWhole } from '../check.js';
import { batchNorm } from '../layers/batchnorm.js';
import { conv2d } from '../layers/conv2d.js';
import { dense } from '../layers/dense.js';
import type { Layer } from '../layers/layer.js';
import { relu } from '../layers/relu.js';
import { globalAvgPool, subsample2d } from '../layers/resample.js';
import { type BlockLayer, residual } from '../layers/residual.js';
import { type Model, type NamedLayer, sequential } from '../model.js';
import { checkImageShape } from './cnn.js';

export interface ResNetOptions {
  /** Per-sample input shape [H, W, C] (default MNIST, [28, 28, 1]). */
  readonly inputShape?: readonly number[];
  readonly classes?: number;
  /** Channels of the stem and first block, then of each downsampling block (default [8, 16, 32]). */
  readonly widths?: readonly number[];
}

/**
 * A small ResNet for 28x28 inputs, the shape of ResNet-18 at a size the CPU trains in seconds:
 * a stride-2 3x3 stem, one basic block per width, each later one halving the resolution with a
 * stride-2 3x3 convolution and a 1x1 projection shortcut, global average pooling and a dense
 * classifier. With the default widths [8, 16, 32]: 14x14x8 -> 7x7x16 -> 4x4x32, d = 19,810.
 *
 * Batch normalisation runs in inference mode (batchNorm): frozen running statistics (PyTorch's
 * initial mean 0, variance 1), trainable per-channel scale and shift. Convolutions have no bias,
 * as in ResNets. A stride-2 convolution is the stride-1 convolution then subsample2d.
 *
 * Layout (NHWC, HWIO filters; default widths):
 *   stem.weight [3, 3, 1, 8], bn.weight [8], bn.bias [8]
 *   block1.conv1.weight [3, 3, 8, 8], block1.bn1.weight [8], block1.bn1.bias [8],
 *   block1.conv2.weight [3, 3, 8, 8], block1.bn2.weight [8], block1.bn2.bias [8]   (identity)
 *   block2.conv1.weight [3, 3, 8, 16], block2.bn1.*, block2.conv2.weight [3, 3, 16, 16],
 *   block2.bn2.*, block2.shortcut.conv.weight [1, 1, 8, 16], block2.shortcut.bn.* [16]
 *   block3: the same with 16 -> 32
 *   fc.weight [10, 33]   (row o = W[o, :] then b[o])
 */
export function resnetLayers(options: ResNetOptions = {}): NamedLayer[] {
  const inputShape = checkImageShape('resnet', options.inputShape ?? [28, 28, 1]);
  const classes = requireWhole('resnet', 'classes', options.classes ?? 10, 2);
  const widths = options.widths ?? [8, 16, 32];
  if (!Array.isArray(widths) || widths.length === 0) {
    throw new LetheError(
      'invalid-argument',
      'resnet: widths must be a non-empty array of channel counts, e.g. [8, 16, 32].',
    );
  }
  widths.forEach((w, i) => requireWhole('resnet', `widths[${i}]`, w, 1));
  const conv = (inputShape: readonly number[], out: number, kernel: number) =>
    conv2d({
      inChannels: inputShape[2]!,
      outChannels: out,
      kernel,
      padding: (kernel - 1) / 2,
      inputShape,
      bias: false,
    });
  const layers: NamedLayer[] = [];
  let shape: readonly number[] = inputShape;
  const push = (list: BlockLayer[], name: string, layer: Layer) => {
    list.push({ name, layer });
    return layer.outputShape;
  };
  const stem = conv(shape, widths[0]!, 3);
  // Stride 2, as ResNet-18's stem downsamples (by 4 there, on 224x224 images).
  const stemDown = subsample2d(stem.outputShape);
  layers.push({ name: 'stem', layer: stem }, { name: 'stem.down', layer: stemDown });
  const bn = batchNorm({ inputShape: stemDown.outputShape });
  layers.push({ name: 'bn', layer: bn }, { name: 'relu', layer: relu(bn.outputShape) });
  shape = bn.outputShape;
  widths.forEach((width, i) => {
    const down = i > 0;
    const main: BlockLayer[] = [];
    let s = push(main, 'conv1', conv(shape, width, 3));
    if (down) s = push(main, 'down', subsample2d(s));
    s = push(main, 'bn1', batchNorm({ inputShape: s }));
    s = push(main, 'relu1', relu(s));
    s = push(main, 'conv2', conv(s, width, 3));
    s = push(main, 'bn2', batchNorm({ inputShape: s }));
    const shortcut: BlockLayer[] = [];
    if (down || width !== shape[2]) {
      let t: readonly number[] = shape;
      if (down) t = push(shortcut, 'down', subsample2d(t));
      t = push(shortcut, 'conv', conv(t, width, 1));
      push(shortcut, 'bn', batchNorm({ inputShape: t }));
    }
    layers.push(
      { name: `block${i + 1}`, layer: residual(main, shortcut) },
      { name: `block${i + 1}.relu`, layer: relu(s) },
    );
    shape = s;
  });
  const pool = globalAvgPool(shape);
  layers.push({ name: 'pool', layer: pool }, { name: 'fc', layer: dense(shape[2]!, classes) });
  return layers;
}

export function resnet(options: ResNetOptions = {}): Model {
  return sequential('resnet', resnetLayers(options));
}
