import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './layer.js';

/** Shapes of a 2x2, stride-2 pooling of [H, W, C] maps (floor: an odd last row/column is dropped). */
export interface PoolGeometry {
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly h2: number;
  readonly w2: number;
  /** 2 * h2, 2 * w2: the pooled region. */
  readonly he: number;
  readonly we: number;
  readonly cropped: boolean;
}

export function poolGeometry(h: number, w: number, c: number): PoolGeometry {
  const h2 = Math.floor(h / 2);
  const w2 = Math.floor(w / 2);
  if (h2 === 0 || w2 === 0) {
    throw new LetheError(
      'invalid-argument',
      `maxPool2d: a ${h}x${w} input is smaller than one 2x2 window; pool maps of at least 2x2 (use a smaller kernel or padding before it, or drop the pooling).`,
    );
  }
  return { h, w, c, h2, w2, he: 2 * h2, we: 2 * w2, cropped: h !== 2 * h2 || w !== 2 * w2 };
}

/** [N, H, W, C] -> its pooled region [N, he, we, C]. */
export function cropToPooled(g: PoolGeometry, t: tf.Tensor, n: number): tf.Tensor {
  return g.cropped
    ? tf.slice(tf.reshape(t, [n, g.h, g.w, g.c]), [0, 0, 0, 0], [n, g.he, g.we, g.c])
    : tf.reshape(t, [n, g.he, g.we, g.c]);
}

/** [N, he, we, C] -> [N, H, W, C] with zeros in a dropped row/column. */
export function padFromPooled(g: PoolGeometry, t: tf.Tensor, n: number): tf.Tensor {
  return g.cropped
    ? tf.pad(tf.reshape(t, [n, g.he, g.we, g.c]), [
        [0, 0],
        [0, g.h - g.he],
        [0, g.w - g.we],
        [0, 0],
      ])
    : tf.reshape(t, [n, g.h, g.w, g.c]);
}

/**
 * The routing of a 2x2 max pooling of x [B, H, W, C]: the maxima y [B, h2, w2, C] and, per window
 * position a = (r, s) in row-major order, a 0/1 indicator `corners[a]` [B * h2, 1, w2, 1, C] of
 * the first maximum of the window (ties go to the earliest position; a window holding NaN goes to
 * its last position). `route` [1, B * h2, 2, w2, 2, C] holds the four indicators in place.
 */
export function poolRouting(
  g: PoolGeometry,
  x: tf.Tensor,
  batch: number,
): { y: tf.Tensor; corners: tf.Tensor[]; route: tf.Tensor } {
  const { h2, w2, c } = g;
  // Rank-4 slices (the wasm Slice kernel is slow above rank 4).
  const x4 = tf.reshape(cropToPooled(g, x, batch), [batch * h2, 2, w2, 2 * c]);
  const corner = (r: number, s: number) =>
    tf.reshape(tf.slice(x4, [0, r, 0, s * c], [batch * h2, 1, w2, c]), [batch * h2, 1, w2, 1, c]);
  const s00 = corner(0, 0);
  const s01 = corner(0, 1);
  const s10 = corner(1, 0);
  const s11 = corner(1, 1);
  const m = tf.maximum(tf.maximum(s00, s01), tf.maximum(s10, s11));
  const e00 = tf.equal(s00, m);
  let taken = e00;
  const e01 = tf.logicalAnd(tf.equal(s01, m), tf.logicalNot(taken));
  taken = tf.logicalOr(taken, e01);
  const e10 = tf.logicalAnd(tf.equal(s10, m), tf.logicalNot(taken));
  taken = tf.logicalOr(taken, e10);
  const e11 = tf.logicalNot(taken);
  const corners = [e00, e01, e10, e11].map((e) => tf.cast(e, 'float32'));
  const route = tf.reshape(
    tf.concat(
      [tf.concat([corners[0]!, corners[1]!], 3), tf.concat([corners[2]!, corners[3]!], 3)],
      1,
    ),
    [1, batch * h2, 2, w2, 2, c],
  );
  return { y: tf.reshape(m, [batch, h2, w2, c]), corners, route };
}

/**
 * route * upsample2x(t) for t [K * B, h2, w2, C]: [K * B, H, W, C]. One broadcasting product
 * (tf.tile is ~60x slower on the wasm backend).
 */
export function spreadPooled(
  g: PoolGeometry,
  route: tf.Tensor,
  t: tf.Tensor,
  batch: number,
  k: number,
): tf.Tensor {
  const routed = tf.mul(tf.reshape(t, [k, batch * g.h2, 1, g.w2, 1, g.c]), route);
  return padFromPooled(g, routed, k * batch);
}

/**
 * The routed values of t [K * B, H, W, C]: avgPool(4 * route * t), exact because each window
 * then holds one non-zero value and the scalings by 4 and 1/4 are exact in binary floating point.
 */
export function gatherPooled(
  g: PoolGeometry,
  route4: tf.Tensor,
  t: tf.Tensor,
  batch: number,
  k: number,
): tf.Tensor {
  const n = k * batch;
  const masked = tf.mul(tf.reshape(cropToPooled(g, t, n), [k, -1]), tf.reshape(route4, [1, -1]));
  return tf.avgPool(tf.reshape(masked, [n, g.he, g.we, g.c]) as tf.Tensor4D, 2, 2, 'valid');
}

interface PoolCache {
  /** The routing of the forward pass, [1, B * h2, 2, w2, 2, C] (see poolRouting). */
  route: tf.Tensor;
  /** 4 * route. */
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
 * - R-forward: yDot = avgPool(4 * route * xDot), exact (see gatherPooled);
 * - backward / R-backward: dx = route * upsample2x(dy).
 */
export function maxPool2d(size: number, inputShape: readonly number[]): Layer<PoolCache> {
  if (size !== 2) {
    throw new LetheError(
      'invalid-argument',
      `maxPool2d: only 2x2 windows with stride 2 are implemented, got ${size}; pass size 2 (stack two poolings for 4x4).`,
    );
  }
  if (inputShape.length !== 3 || !inputShape.every((s) => Number.isInteger(s) && s > 0)) {
    throw new LetheError(
      'invalid-argument',
      `maxPool2d: inputShape must be [H, W, C] with whole positive sizes, got [${inputShape}]; pass the previous layer's outputShape.`,
    );
  }
  const g = poolGeometry(inputShape[0]!, inputShape[1]!, inputShape[2]!);
  const pooled = g.he * g.we * g.c;

  return {
    kind: 'maxpool2d',
    inputShape: [g.h, g.w, g.c],
    outputShape: [g.h2, g.w2, g.c],
    params: [],
    init() {},

    forward(x) {
      const batch = x.shape[0]!;
      return tf.tidy(() => {
        const { y, route } = poolRouting(g, x, batch);
        return { y, cache: { route, route4: tf.mul(route, 4), batch } };
      });
    },

    backward(cache, _p, dy, needInputGrad) {
      return {
        dx: needInputGrad ? tf.tidy(() => spreadPooled(g, cache.route, dy, cache.batch, 1)) : null,
        dp: [],
      };
    },

    perSampleParamGrads: () => [],

    rForward(cache, _p, _v, xDot, k) {
      if (!xDot)
        throw new LetheError(
          'invalid-argument',
          'maxPool2d: a pooling layer cannot be the first layer; put a conv2d layer before it.',
        );
      return tf.tidy(() => gatherPooled(g, cache.route4, xDot, cache.batch, k));
    },

    rBackward(cache, _p, _v, _dy, dyDot, _xDot, k, needInputGrad) {
      return {
        dxDot: needInputGrad
          ? tf.tidy(() => spreadPooled(g, cache.route, dyDot, cache.batch, k))
          : null,
        dpDot: [],
      };
    },

    // Second order: linear on the piece the forward pass fixed (its second derivative is zero
    // almost everywhere), so second derivatives are routed like the tangents.
    r2Forward(cache, _p, _v, _xDot, xDDot, k) {
      if (!xDDot)
        throw new LetheError(
          'invalid-argument',
          'maxPool2d: a pooling layer cannot be the first layer; put a conv2d layer before it.',
        );
      return tf.tidy(() => gatherPooled(g, cache.route4, xDDot, cache.batch, k));
    },

    r2Backward(cache, _p, _v, _dy, _dyDot, dyDDot, _xDot, _xDDot, k, needInputGrad) {
      return {
        dxDDot: needInputGrad
          ? tf.tidy(() => spreadPooled(g, cache.route, dyDDot, cache.batch, k))
          : null,
        dpDDot: [],
      };
    },

    cacheTensors: (cache) => [cache.route, cache.route4],

    // R-forward: the mask product and three additions per window; R-backward: the mask product.
    hvpFlopsPerSample: (needInputGrad) => pooled + (3 * pooled) / 4 + (needInputGrad ? pooled : 0),
  };
}
