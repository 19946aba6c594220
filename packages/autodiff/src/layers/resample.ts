import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { requireShape } from '../check.js';
import type { Layer } from './layer.js';

const firstLayer = (kind: string) =>
  new LetheError(
    'invalid-argument',
    `${kind}: a layer without parameters cannot be the first layer; put a conv2d layer before it.`,
  );

const imageShape = (kind: string, shape: readonly number[]): [number, number, number] => {
  requireShape(kind, 'inputShape', shape);
  if (shape.length !== 3) {
    throw new LetheError(
      'invalid-argument',
      `${kind}: inputShape must be an image shape [H, W, C], got [${shape}].`,
    );
  }
  return shape as [number, number, number];
};

/**
 * Keeps every second row and column (those with even index): [H, W, C] -> [ceil(H/2), ceil(W/2), C].
 * A stride-2 convolution is a stride-1 convolution followed by this (PyTorch's stride-2 conv with
 * padding p reads the same taps), which lets the ResNet downsample with Lethe's stride-1 conv2d.
 * Linear and parameter-free: tangents are subsampled, gradients scattered back between zeros.
 */
export function subsample2d(inputShape: readonly number[]): Layer<{ batch: number }> {
  const [h, w, c] = imageShape('subsample2d', inputShape);
  const ho = Math.ceil(h / 2);
  const wo = Math.ceil(w / 2);
  const down = (t: tf.Tensor, n: number): tf.Tensor =>
    tf.stridedSlice(tf.reshape(t, [n, h, w, c]), [0, 0, 0, 0], [n, h, w, c], [1, 2, 2, 1]);
  /** The adjoint: t [n, Ho, Wo, C] placed at even rows and columns of zeros [n, H, W, C]. */
  const up = (t: tf.Tensor, n: number): tf.Tensor =>
    tf.tidy(() => {
      const t4 = tf.reshape(t, [n, ho, wo, c]);
      const cols = tf.reshape(tf.stack([t4, tf.zerosLike(t4)], 3), [n, ho, 2 * wo, c]);
      const rows = tf.reshape(tf.stack([cols, tf.zerosLike(cols)], 2), [n, 2 * ho, 2 * wo, c]);
      return 2 * ho === h && 2 * wo === w ? rows : tf.slice(rows, [0, 0, 0, 0], [n, h, w, c]);
    });
  return {
    kind: 'subsample2d',
    inputShape: [h, w, c],
    outputShape: [ho, wo, c],
    params: [],
    init() {},
    forward(x) {
      const batch = x.shape[0]!;
      return { y: down(x, batch), cache: { batch } };
    },
    backward(cc, _p, dy, needInputGrad) {
      return { dx: needInputGrad ? up(dy, cc.batch) : null, dp: [] };
    },
    perSampleParamGrads: () => [],
    rForward(cc, _p, _v, xDot, k) {
      if (!xDot) throw firstLayer('subsample2d');
      return down(xDot, k * cc.batch);
    },
    rBackward(cc, _p, _v, _dy, dyDot, _xDot, k, needInputGrad) {
      return { dxDot: needInputGrad ? up(dyDot, k * cc.batch) : null, dpDot: [] };
    },
    cacheTensors: () => [],
    // Copies only.
    hvpFlopsPerSample: () => 0,
  };
}

/** Mean over rows and columns, [H, W, C] -> [C]; linear and parameter-free. */
export function globalAvgPool(inputShape: readonly number[]): Layer<{ batch: number }> {
  const [h, w, c] = imageShape('globalAvgPool', inputShape);
  const pos = h * w;
  const mean = (t: tf.Tensor, n: number): tf.Tensor => tf.mean(tf.reshape(t, [n, pos, c]), 1);
  /** The adjoint: every position gets t / (H W). */
  const spread = (t: tf.Tensor, n: number): tf.Tensor =>
    tf.tidy(() =>
      tf.reshape(tf.tile(tf.reshape(tf.div(t, pos), [n, 1, c]), [1, pos, 1]), [n, h, w, c]),
    );
  return {
    kind: 'globalAvgPool',
    inputShape: [h, w, c],
    outputShape: [c],
    params: [],
    init() {},
    forward(x) {
      const batch = x.shape[0]!;
      return { y: mean(x, batch), cache: { batch } };
    },
    backward(cc, _p, dy, needInputGrad) {
      return { dx: needInputGrad ? spread(dy, cc.batch) : null, dp: [] };
    },
    perSampleParamGrads: () => [],
    rForward(cc, _p, _v, xDot, k) {
      if (!xDot) throw firstLayer('globalAvgPool');
      return mean(xDot, k * cc.batch);
    },
    rBackward(cc, _p, _v, _dy, dyDot, _xDot, k, needInputGrad) {
      return { dxDot: needInputGrad ? spread(dyDot, k * cc.batch) : null, dpDot: [] };
    },
    cacheTensors: () => [],
    hvpFlopsPerSample: (needInputGrad) => pos * c * (needInputGrad ? 2 : 1),
  };
}
