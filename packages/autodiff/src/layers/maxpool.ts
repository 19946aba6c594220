import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './layer.js';

interface PoolCache {
  /**
   * Routing of the forward pass over the pooled region [B, 2*floor(H/2), 2*floor(W/2), C], flat as
   * [1, size]: 1 at the one position of each 2x2 window that holds its maximum (the first maximum
   * in row-major window order), 0 elsewhere.
   */
  route: tf.Tensor;
  /** 4 * route: average pooling of route4 * t gathers the routed values exactly. */
  route4: tf.Tensor;
  batch: number;
}

/**
 * Max pooling over 2x2 windows with stride 2, NHWC; an odd last row or column is dropped (floor,
 * as PyTorch's MaxPool2d(2)).
 *
 * The function is linear almost everywhere: each output copies one input. The forward pass
 * records which one (ties go to the first maximum in row-major window order: top-left, top-right,
 * bottom-left, bottom-right) and every later pass routes with that fixed choice, so the gradient,
 * the R-forward and the R-backward are exact derivatives of one linear piece. tfjs's MaxPoolGrad
 * is not used (it re-derives the argmax from the input with its own tie rule).
 * - R-forward: yDot = avgPool(4 * route * xDot), exact: a window holds one non-zero value and the
 *   scalings by 4 and 1/4 are exact in binary floating point;
 * - backward / R-backward: dx = route * upsample2x(dy).
 */
export function maxPool2d(size: number, inputShape: readonly number[]): Layer<PoolCache> {
  if (size !== 2) {
    throw new Error(`maxPool2d: only 2x2 windows with stride 2 are implemented, got ${size}.`);
  }
  if (inputShape.length !== 3 || !inputShape.every((s) => Number.isInteger(s) && s > 0)) {
    throw new Error(
      `maxPool2d: inputShape must be [H, W, C] with positive sizes, got [${inputShape}].`,
    );
  }
  const [h, w, c] = inputShape as [number, number, number];
  const h2 = Math.floor(h / 2);
  const w2 = Math.floor(w / 2);
  if (h2 === 0 || w2 === 0) {
    throw new Error(`maxPool2d: a ${h}x${w} input is smaller than one 2x2 window.`);
  }
  const he = 2 * h2;
  const we = 2 * w2;
  const pooled = he * we * c;
  const cropped = he !== h || we !== w;
  const crop = (t: tf.Tensor, n: number): tf.Tensor =>
    cropped
      ? tf.slice(tf.reshape(t, [n, h, w, c]), [0, 0, 0, 0], [n, he, we, c])
      : tf.reshape(t, [n, he, we, c]);
  const uncrop = (t: tf.Tensor, n: number): tf.Tensor =>
    cropped
      ? tf.pad(tf.reshape(t, [n, he, we, c]), [
          [0, 0],
          [0, h - he],
          [0, w - we],
          [0, 0],
        ])
      : tf.reshape(t, [n, h, w, c]);
  /** route * upsample2x(g) for g [K * B, H/2, W/2, C]: [K * B, H, W, C]. */
  const spread = (cache: PoolCache, g: tf.Tensor, k: number): tf.Tensor => {
    const n = k * cache.batch;
    const up = tf.reshape(tf.tile(tf.reshape(g, [n * h2, 1, w2, 1, c]), [1, 2, 1, 2, 1]), [
      k,
      cache.batch * he * we * c,
    ]);
    return uncrop(tf.mul(up, cache.route), n);
  };
  /** avgPool(route4 * t) for t [K * B, H, W, C]: the routed values, [K * B, H/2, W/2, C]. */
  const gather = (cache: PoolCache, t: tf.Tensor, k: number): tf.Tensor => {
    const n = k * cache.batch;
    const masked = tf.mul(tf.reshape(crop(t, n), [k, -1]), cache.route4);
    return tf.avgPool(tf.reshape(masked, [n, he, we, c]) as tf.Tensor4D, 2, 2, 'valid');
  };

  return {
    kind: 'maxpool2d',
    inputShape: [h, w, c],
    outputShape: [h2, w2, c],
    params: [],
    init() {},

    forward(x) {
      const batch = x.shape[0]!;
      return tf.tidy(() => {
        const x6 = tf.reshape(crop(x, batch), [batch * h2, 2, w2, 2, c]);
        const corner = (a: number, b: number) =>
          tf.slice(x6, [0, a, 0, b, 0], [batch * h2, 1, w2, 1, c]);
        const s00 = corner(0, 0);
        const s01 = corner(0, 1);
        const s10 = corner(1, 0);
        const s11 = corner(1, 1);
        const m = tf.maximum(tf.maximum(s00, s01), tf.maximum(s10, s11));
        // First maximum in row-major window order; a window with NaN goes to its last position.
        const e00 = tf.equal(s00, m);
        let taken = e00;
        const e01 = tf.logicalAnd(tf.equal(s01, m), tf.logicalNot(taken));
        taken = tf.logicalOr(taken, e01);
        const e10 = tf.logicalAnd(tf.equal(s10, m), tf.logicalNot(taken));
        taken = tf.logicalOr(taken, e10);
        const e11 = tf.logicalNot(taken);
        const one = tf.concat([tf.concat([e00, e01], 3), tf.concat([e10, e11], 3)], 1);
        const route = tf.reshape(tf.cast(one, 'float32'), [1, -1]);
        const route4 = tf.mul(route, 4);
        const y = tf.reshape(m, [batch, h2, w2, c]);
        return { y, cache: { route, route4, batch } };
      });
    },

    backward(cache, _p, dy, needInputGrad) {
      return { dx: needInputGrad ? tf.tidy(() => spread(cache, dy, 1)) : null, dp: [] };
    },

    perSampleParamGrads: () => [],

    rForward(cache, _p, _v, xDot, k) {
      if (!xDot) throw new Error('maxPool2d: a pooling layer cannot be the first layer.');
      return tf.tidy(() => gather(cache, xDot, k));
    },

    rBackward(cache, _p, _v, _dy, dyDot, _xDot, k, needInputGrad) {
      return { dxDot: needInputGrad ? tf.tidy(() => spread(cache, dyDot, k)) : null, dpDot: [] };
    },

    cacheTensors: (cache) => [cache.route, cache.route4],

    // R-forward: the mask product and three additions per window; R-backward: the mask product.
    hvpFlopsPerSample: (needInputGrad) => pooled + (3 * pooled) / 4 + (needInputGrad ? pooled : 0),
  };
}
