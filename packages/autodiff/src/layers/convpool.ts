import type { Rng } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  augmentedDirections,
  type Conv2dOptions,
  type ConvGeometry,
  convGeometry,
  convTranspose,
  convTransposeDirections,
  directionConv,
  flipFilter,
  im2col,
  initConv,
  pairedConvTransposeDirections,
  pairedFilterGrad,
  splitAugmented,
  tangentFilterGrad,
} from './conv2d.js';
import type { Layer } from './layer.js';
import {
  gatherPooled,
  type PoolGeometry,
  poolGeometry,
  poolRouting,
  spreadPooled,
} from './maxpool.js';

/**
 * The matrices t[i] of t [N, R, C], by slices (tf.unstack's wasm kernel copies the whole input
 * out of the heap once per part).
 */
export function rows(t: tf.Tensor): tf.Tensor2D[] {
  const [n, r, c] = t.shape as [number, number, number];
  return Array.from({ length: n }, (_, i) => tf.reshape(tf.slice(t, [i, 0, 0], [1, r, c]), [r, c]));
}

export interface ConvPoolCache {
  batch: number;
  /** Pooling routing [1, B * h2, 2, w2, 2, out] (see poolRouting) and 4 times it. */
  route: tf.Tensor;
  route4: tf.Tensor;
  /**
   * Per output channel c, the input patch (with a trailing 1 for the bias) at the position each
   * pooling window routes channel c from: [B * Q, F + 1] (Q = pooled positions), and transposed.
   */
  selected: tf.Tensor2D[];
  selectedT: tf.Tensor2D[];
  wFlip: tf.Tensor4D;
}

// conv2dMaxPool (below) is conv2d then maxPool2d (same options, layout, initialisation, tie
// rule) computed on the routed input patches S_c, so its parameter-direction terms cost a quarter
// of conv2d's: docs/derivations/convolution-hessian-products.md#convolution-then-max-pooling.

/**
 * For t [K * B, h2, w2, out] at the pooled output: sum_{b,q} S_c^T t_k[:, c] for every channel,
 * [K, F + 1, out] (one product [K, B * Q] x [B * Q, F + 1] per channel; S_c is the right operand,
 * whose packing XNNPACK keeps while the point lives).
 */
export function routedFilterGrad(
  c: ConvPoolCache,
  t: tf.Tensor,
  k: number,
  q: number,
  co: number,
): tf.Tensor {
  const perChannel = rows(tf.transpose(tf.reshape(t, [k, c.batch * q, co]), [2, 0, 1]));
  const parts = perChannel.map((tc, ch) => tf.matMul(tc, c.selected[ch]!));
  return tf.transpose(tf.stack(parts), [1, 2, 0]);
}

/** S_c [V_k; vb_k][:, c] for augmented directions [K, F + 1, out]: [K * B, h2, w2, out]. */
export function routedDirections(
  g: ConvGeometry,
  pg: PoolGeometry,
  c: ConvPoolCache,
  vAug: tf.Tensor,
  k: number,
): tf.Tensor {
  const vc = rows(tf.transpose(vAug, [2, 0, 1]));
  const parts = vc.map((v, ch) => tf.matMul(v, c.selectedT[ch]!));
  return tf.reshape(tf.transpose(tf.stack(parts), [1, 2, 0]), [k * c.batch, pg.h2, pg.w2, g.co]);
}

export function conv2dMaxPool(options: Conv2dOptions): Layer<ConvPoolCache> {
  const kind = 'conv2dMaxPool';
  const g = convGeometry(kind, options);
  const { h, w, ci, co, kh, kw, f } = g;
  const pg = poolGeometry(g.ho, g.wo, co);
  const q = pg.h2 * pg.w2;

  const selectedFilterGrad = (c: ConvPoolCache, t: tf.Tensor, k: number) =>
    routedFilterGrad(c, t, k, q, co);
  const selectedDirections = (c: ConvPoolCache, vW: tf.Tensor, vb: tf.Tensor, k: number) =>
    routedDirections(g, pg, c, augmentedDirections(g, vW, vb, k), k);
  /** The input as [B, H, W, in] and the convolution's output before pooling. */
  const convolve = (x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => {
    const x4 = tf.reshape(x, [x.shape[0]!, h, w, ci]) as tf.Tensor4D;
    return { x4, z: tf.add(tf.conv2d(x4, weight as tf.Tensor4D, 1, g.fwdPad), bias) };
  };

  return {
    kind,
    inputShape: [h, w, ci],
    outputShape: [pg.h2, pg.w2, co],
    params: [
      { name: 'weight', shape: [kh, kw, ci, co] },
      { name: 'bias', shape: [co] },
    ],

    init(rng: Rng, out: Float32Array): void {
      initConv(g, rng, out);
    },

    infer(x, [weight, bias]) {
      return tf.tidy(() => {
        const { z } = convolve(x, weight!, bias!);
        // The max of each 2x2 window, as poolRouting computes it ('valid' drops an odd edge,
        // as cropToPooled does).
        return tf.maxPool(z as tf.Tensor4D, 2, 2, 'valid');
      });
    },

    forward(x, [weight, bias]) {
      const batch = x.shape[0]!;
      return tf.tidy(() => {
        const { x4, z } = convolve(x, weight!, bias!);
        const { y, corners, route } = poolRouting(pg, z, batch);
        // Patches at the four window positions, [B * Q, 1, F] each, weighted by the routing.
        const cols = tf.reshape(
          tf.slice(im2col(g, x4, batch), [0, 0, 0, 0], [batch, pg.he, pg.we, f]),
          [batch * pg.h2, 2, pg.w2, 2 * f],
        );
        let sel: tf.Tensor | null = null;
        corners.forEach((e, a) => {
          const pa = tf.slice(cols, [0, a >> 1, 0, (a & 1) * f], [batch * pg.h2, 1, pg.w2, f]);
          const term = tf.mul(tf.reshape(pa, [batch * q, 1, f]), tf.reshape(e, [batch * q, co, 1]));
          sel = sel ? tf.add(sel, term) : term;
        });
        const aug = tf.concat([sel!, tf.ones([batch * q, co, 1])], 2);
        const selected = rows(tf.transpose(aug, [1, 0, 2]));
        const selectedT = rows(tf.transpose(aug, [1, 2, 0]));
        return {
          y,
          cache: {
            batch,
            route,
            route4: tf.mul(route, 4),
            selected,
            selectedT,
            wFlip: flipFilter(weight!),
          },
        };
      });
    },

    backward(c, _p, dy, needInputGrad) {
      const [dW, db, dx] = tf.tidy(() => {
        const [gW, gb] = splitAugmented(g, selectedFilterGrad(c, dy, 1), 1);
        const out = [tf.reshape(gW, [kh, kw, ci, co]), tf.reshape(gb, [co])];
        if (!needInputGrad) return out;
        const full = spreadPooled(pg, c.route, dy, c.batch, 1);
        return [...out, convTranspose(g, full, c.wFlip, c.batch)];
      });
      return { dx: dx ?? null, dp: [dW!, db!] };
    },

    perSampleParamGrads(c, _p, dy) {
      return tf.tidy(() => {
        const b = c.batch;
        // sum_q S_c[(b, q), :] dy[b, q, c] for every sample and channel.
        const s = tf.reshape(tf.stack(c.selected), [co, b, q, f + 1]);
        const dyc = tf.reshape(tf.transpose(tf.reshape(dy, [b, q, co]), [2, 0, 1]), [co, b, q, 1]);
        const per = tf.transpose(tf.sum(tf.mul(s, dyc), 2), [1, 2, 0]);
        const [gW, gb] = splitAugmented(g, per, b);
        return [tf.reshape(gW, [b, f * co]), gb];
      });
    },

    rForward(c, [weight], [vW, vb], xDot, k) {
      return tf.tidy(() => {
        const b = c.batch;
        let yDot = selectedDirections(c, vW!, vb!, k);
        if (xDot) {
          const xd = tf.reshape(xDot, [k * b, h, w, ci]) as tf.Tensor4D;
          const z = tf.conv2d(xd, weight as tf.Tensor4D, 1, g.fwdPad);
          yDot = tf.add(yDot, gatherPooled(pg, c.route4, z, b, k));
        }
        return yDot;
      });
    },

    rBackward(c, _p, [vW], dy, dyDot, xDot, k, needInputGrad) {
      const [dW, dB, dxDot] = tf.tidy(() => {
        const b = c.batch;
        let [gW, gB] = splitAugmented(g, selectedFilterGrad(c, dyDot, k), k);
        const dyFull = spreadPooled(pg, c.route, dy, b, 1);
        if (xDot) gW = tf.add(gW, tangentFilterGrad(g, xDot, dyFull, b, k));
        if (!needInputGrad) return [gW, gB];
        const direct = convTranspose(g, spreadPooled(pg, c.route, dyDot, b, k), c.wFlip, k * b);
        return [gW, gB, tf.add(direct, convTransposeDirections(g, dyFull, vW!, b, k))];
      });
      return { dxDot: dxDot ?? null, dpDot: [dW!, dB!] };
    },

    // Second order: conv2d's second-order terms on the convolution output z, routed by the fixed
    // pooling (linear on its piece): yDDot = route(conv(xDDot, W) + 2 conv(xDot, V)) (nothing for a
    // data input); with dz = spread(dy) and likewise for its derivatives,
    // dW'' = S^T dyDDot (= corr(x, dzDDot)) + 2 corr(xDot, dzDot) + corr(xDDot, dz),
    // db'' = sum dyDDot, dx'' = convT(dzDDot, W) + 2 convT(dzDot, V).
    r2Forward(c, [weight], [vW], xDot, xDDot, k) {
      return tf.tidy(() => {
        const b = c.batch;
        if (!xDot || !xDDot) return tf.zeros([k * b, pg.h2, pg.w2, co]);
        const xdd = tf.reshape(xDDot, [k * b, h, w, ci]) as tf.Tensor4D;
        const z = tf.add(
          tf.conv2d(xdd, weight as tf.Tensor4D, 1, g.fwdPad),
          tf.mul(directionConv(g, xDot, vW!, b, k), 2),
        );
        return gatherPooled(pg, c.route4, z, b, k);
      });
    },

    r2Backward(c, _p, [vW], dy, dyDot, dyDDot, xDot, xDDot, k, needInputGrad) {
      const [dW, dB, dxDDot] = tf.tidy(() => {
        const b = c.batch;
        let [gW, gB] = splitAugmented(g, selectedFilterGrad(c, dyDDot, k), k);
        const dyDotFull = spreadPooled(pg, c.route, dyDot, b, k);
        if (xDot) gW = tf.add(gW, tf.mul(pairedFilterGrad(g, xDot, dyDotFull, b, k), 2));
        if (xDDot) {
          gW = tf.add(gW, tangentFilterGrad(g, xDDot, spreadPooled(pg, c.route, dy, b, 1), b, k));
        }
        if (!needInputGrad) return [gW, gB];
        const dyDDotFull = spreadPooled(pg, c.route, dyDDot, b, k);
        const direct = convTranspose(g, dyDDotFull, c.wFlip, k * b);
        const cross = pairedConvTransposeDirections(g, dyDotFull, vW!, b, k);
        return [gW, gB, tf.add(direct, tf.mul(cross, 2))];
      });
      return { dxDDot: dxDDot ?? null, dpDDot: [dW!, dB!] };
    },

    cacheTensors: (c) => [c.route, c.route4, ...c.selected, ...c.selectedT, c.wFlip],

    hvpFlopsPerSample(needInputGrad, hasInputTangent) {
      const mac = g.pos * f * co;
      const pooled = pg.he * pg.we * co;
      // Routed-patch products: R-forward S_c [V; vb], R-backward S_c^T dyDot.
      let flops = 4 * q * (f + 1) * co;
      // conv(xDot, W), its routing (mask product, window sums) and the add;
      // sum_b corr(xDot, dy) (on the spread dy) and its add.
      if (hasInputTangent) flops += 2 * mac + pooled * 1.75 + q * co + 2 * mac + f * co;
      // spread dyDot; convT(dyDot, W) + convT(dy, V) (zero padding not counted) and the add.
      if (needInputGrad) flops += pooled + 4 * mac + h * w * ci;
      return flops;
    },
  };
}
