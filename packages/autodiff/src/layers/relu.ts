import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { requireShape } from '../check.js';
import type { Layer } from './layer.js';

interface ReluCache {
  /** 1 where the input is strictly positive, else 0 (the derivative at 0 is taken as 0). */
  mask: tf.Tensor;
  batch: number;
}

/** Elementwise max(x, 0); piecewise linear, so its R-operator only routes tangents by the mask. */
export function relu(shape: readonly number[]): Layer<ReluCache> {
  requireShape('relu', 'shape', shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const gate = (c: ReluCache, t: tf.Tensor, k: number): tf.Tensor =>
    tf.reshape(
      tf.mul(tf.reshape(t, [k, c.batch * size]), tf.reshape(c.mask, [1, c.batch * size])),
      t.shape,
    );
  return {
    kind: 'relu',
    inputShape: shape,
    outputShape: shape,
    params: [],
    init() {},
    forward(x) {
      const mask = tf.cast(tf.greater(x, 0), 'float32');
      return { y: tf.mul(x, mask), cache: { mask, batch: x.shape[0]! } };
    },
    backward(c, _p, dy, needInputGrad) {
      return { dx: needInputGrad ? tf.mul(dy, c.mask) : null, dp: [] };
    },
    perSampleParamGrads: () => [],
    rForward(c, _p, _v, xDot, k) {
      if (!xDot)
        throw new LetheError(
          'invalid-argument',
          'relu: an activation layer cannot be the first layer; put a dense or conv2d layer before it.',
        );
      return gate(c, xDot, k);
    },
    rBackward(c, _p, _v, _dy, dyDot, _xDot, k, needInputGrad) {
      return { dxDot: needInputGrad ? gate(c, dyDot, k) : null, dpDot: [] };
    },
    // ReLU's second derivative is zero almost everywhere: tangents are only gated.
    r2Forward(c, _p, _v, _xDot, xDDot, k) {
      if (!xDDot)
        throw new LetheError(
          'invalid-argument',
          'relu: an activation layer cannot be the first layer; put a dense or conv2d layer before it.',
        );
      return gate(c, xDDot, k);
    },
    r2Backward(c, _p, _v, _dy, _dyDot, dyDDot, _xDot, _xDDot, k, needInputGrad) {
      return { dxDDot: needInputGrad ? gate(c, dyDDot, k) : null, dpDDot: [] };
    },
    cacheTensors: (c) => [c.mask],
    hvpFlopsPerSample: (needInputGrad) => size * (needInputGrad ? 2 : 1),
  };
}
