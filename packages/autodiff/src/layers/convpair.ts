import type { Rng } from '@lethe/core';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  augmentedDirections,
  type Conv2dOptions,
  convGeometry,
  splitAugmented,
  tangentFilterGrad,
} from './conv2d.js';
import {
  type ConvPoolCache,
  conv2dMaxPool,
  routedDirections,
  routedFilterGrad,
  rows,
} from './convpool.js';
import type { Layer } from './layer.js';
import { gatherPooled, poolGeometry, spreadPooled } from './maxpool.js';
import { relu } from './relu.js';

/** tf.tidy for a result whose tensors sit in (nested) objects typed by interfaces. */
function tidyObject<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}

export interface ConvPairOptions {
  /** The first convolution (its input is the data). */
  readonly first: Conv2dOptions;
  /** The second convolution (its input shape follows from the first block's output). */
  readonly second: Omit<Conv2dOptions, 'inputShape'>;
}

interface PairCache {
  batch: number;
  first: ConvPoolCache;
  /** ReLU mask of the first block's output, [B, h1, w1, c1]. */
  mask: tf.Tensor;
  second: ConvPoolCache;
  /**
   * The first block's output tangent for the F1 + 1 augmented basis directions (direction f sets
   * row f of the augmented first filter to 1 in every channel; channels do not mix), ReLU-gated:
   * [(F1 + 1) * B, h1, w1, c1]. Every second-block term that involves the input tangent is linear
   * in these.
   */
  basis: tf.Tensor | null;
  /**
   * The second block's routed response to each (first-layer parameter (c1, f)):
   * G [c1 * (F1 + 1), B * Q2 * c2] (rows channel-major), and its transpose.
   * basis, response and responseT serve only the R-passes: null at a gradient-only point.
   */
  response: tf.Tensor2D | null;
  responseT: tf.Tensor2D | null;
}

/** The R-pass precomputation of a point; a gradient-only point has none. */
function hessianParts(c: PairCache) {
  if (!c.basis || !c.response || !c.responseT) {
    throw new LetheError(
      'invalid-argument',
      'convPair: Hessian products need a point made without { gradientOnly: true }.',
    );
  }
  return { basis: c.basis, response: c.response, responseT: c.responseT };
}

/**
 * The first two blocks of a CNN as one layer: conv2dMaxPool(first), ReLU, conv2dMaxPool(second).
 * Same function, parameters (first weight, first bias, second weight, second bias, each as in
 * conv2d) and initialisation as those three layers in sequence; it must be the model's first
 * layer (its input is data: no input tangent, no input gradient).
 *
 * Why: at a point, the first block's output tangent is a fixed linear map (G) of its parameter
 * directions, so every term that passes through it is formed once per point, with no
 * first-block tangent and no transposed convolution (derivation:
 * docs/derivations/convolution-hessian-products.md#the-fused-first-two-blocks).
 */
export function convPair(options: ConvPairOptions): Layer<PairCache> {
  const kind = 'convPair';
  const g1 = convGeometry(kind, options.first);
  const block1 = conv2dMaxPool(options.first);
  const act = relu(block1.outputShape);
  const secondOptions = { ...options.second, inputShape: block1.outputShape };
  const g2 = convGeometry(kind, secondOptions);
  const block2 = conv2dMaxPool(secondOptions);
  const pg2 = poolGeometry(g2.ho, g2.wo, g2.co);
  const [h1, w1, c1] = block1.outputShape as [number, number, number];
  const q1 = h1 * w1;
  const q2 = pg2.h2 * pg2.w2;
  const fa1 = g1.f + 1;
  const fa2 = g2.f + 1;
  const c2 = g2.co;
  const firstOnly = (what: string) =>
    new LetheError(
      'invalid-argument',
      `${kind}: must be the model's first layer (${what} is not available); put it first, or use conv2dMaxPool layers further in.`,
    );
  /** V1 directions as [K, c1 * (F1 + 1)], channel-major (the rows of G). */
  const flatFirst = (vW: tf.Tensor, vb: tf.Tensor, k: number) =>
    tf.reshape(tf.transpose(augmentedDirections(g1, vW, vb, k), [0, 2, 1]), [k, c1 * fa1]);
  /** H per first-layer channel, [F1 + 1, kh2 * kw2 * c2] each, and transposed. */
  const hPerChannel = (c: PairCache, dy2: tf.Tensor): [tf.Tensor2D[], tf.Tensor2D[]] => {
    const dyFull = spreadPooled(pg2, c.second.route, dy2, c.batch, 1);
    const h = tangentFilterGrad(g2, hessianParts(c).basis, dyFull, c.batch, fa1); // [F1+1, kh2, kw2, c1, c2]
    const byChannel = tf.transpose(tf.reshape(h, [fa1, g2.kh * g2.kw, c1, c2]), [2, 0, 1, 3]);
    const flat = tf.reshape(byChannel, [c1, fa1, g2.kh * g2.kw * c2]);
    return [rows(flat), rows(tf.transpose(flat, [0, 2, 1]))];
  };

  /**
   * The second block's input tangent a1Dot and second derivative a1DDot (zero: the first block is
   * bilinear in its data input and its parameters), the pair's output second derivative yDDot, and
   * the ReLU cache the sub-layers' passes take.
   */
  const secondOrderForward = (
    c: PairCache,
    [wt1, bs1, wt2, bs2]: readonly tf.Tensor[],
    [vW1, vb1, vW2, vb2]: readonly tf.Tensor[],
    k: number,
  ) => {
    const gate = { mask: c.mask, batch: c.batch };
    const p1 = [wt1!, bs1!];
    const v1 = [vW1!, vb1!];
    const y1Dot = block1.rForward(c.first, p1, v1, null, k);
    const y1DDot = block1.r2Forward!(c.first, p1, v1, null, null, k);
    const a1Dot = act.rForward(gate, [], [], y1Dot, k);
    const a1DDot = act.r2Forward!(gate, [], [], y1Dot, y1DDot, k);
    const yDDot = block2.r2Forward!(c.second, [wt2!, bs2!], [vW2!, vb2!], a1Dot, a1DDot, k);
    return { a1Dot, a1DDot, yDDot, gate };
  };

  return {
    kind,
    inputShape: block1.inputShape,
    outputShape: block2.outputShape,
    params: [
      { name: 'conv1.weight', shape: [g1.kh, g1.kw, g1.ci, g1.co] },
      { name: 'conv1.bias', shape: [g1.co] },
      { name: 'conv2.weight', shape: [g2.kh, g2.kw, g2.ci, g2.co] },
      { name: 'conv2.bias', shape: [g2.co] },
    ],

    init(rng: Rng, out: Float32Array): void {
      const n1 = g1.f * g1.co + g1.co;
      block1.init(rng, out.subarray(0, n1));
      block2.init(rng, out.subarray(n1));
    },

    infer(x, [wt1, bs1, wt2, bs2]) {
      return tf.tidy(() => block2.infer!(tf.relu(block1.infer!(x, [wt1!, bs1!])), [wt2!, bs2!]));
    },

    forward(x, [wt1, bs1, wt2, bs2], gradientOnly) {
      const batch = x.shape[0]!;
      return tidyObject(() => {
        const f1 = block1.forward(x, [wt1!, bs1!], gradientOnly);
        const r = act.forward(f1.y, []);
        const mask = (r.cache as { mask: tf.Tensor }).mask;
        const f2 = block2.forward(r.y, [wt2!, bs2!], gradientOnly);
        if (gradientOnly) {
          const cache: PairCache = {
            batch,
            first: f1.cache,
            mask,
            second: f2.cache,
            basis: null,
            response: null,
            responseT: null,
          };
          return { y: f2.y, cache };
        }
        // Basis tangents: channel ch of direction f is S1_ch[:, f], gated by the ReLU.
        const gated = f1.cache.selected.map((s, ch) =>
          tf.mul(
            tf.transpose(s), // [F1 + 1, B * Q1]
            tf.reshape(tf.slice(tf.reshape(mask, [batch * q1, c1]), [0, ch], [batch * q1, 1]), [
              1,
              batch * q1,
            ]),
          ),
        );
        const basis = tf.reshape(tf.transpose(tf.stack(gated), [1, 2, 0]), [
          fa1 * batch,
          h1,
          w1,
          c1,
        ]);
        // Routed response of the second convolution to each (ch, f): a one-channel convolution.
        const w2c = tf.reshape(wt2!, [g2.kh, g2.kw, c1, c2]);
        const response = tf.concat(
          gated.map((gc, ch) => {
            const images = tf.reshape(gc, [fa1 * batch, h1, w1, 1]) as tf.Tensor4D;
            const filter = tf.slice(w2c, [0, 0, ch, 0], [g2.kh, g2.kw, 1, c2]) as tf.Tensor4D;
            const z = tf.conv2d(images, filter, 1, g2.fwdPad);
            return tf.reshape(gatherPooled(pg2, f2.cache.route4, z, batch, fa1), [
              fa1,
              batch * q2 * c2,
            ]);
          }),
          0,
        ) as tf.Tensor2D;
        return {
          y: f2.y,
          cache: {
            batch,
            first: f1.cache,
            mask,
            second: f2.cache,
            basis,
            response,
            responseT: tf.transpose(response),
          },
        };
      });
    },

    backward(c, [wt1, bs1, wt2, bs2], dy, needInputGrad) {
      if (needInputGrad) throw firstOnly('the input gradient');
      const [dW1, db1, dW2, db2] = tf.tidy(() => {
        const s = block2.backward(c.second, [wt2!, bs2!], dy, true);
        const gated = tf.mul(s.dx!, c.mask);
        const f = block1.backward(c.first, [wt1!, bs1!], gated, false);
        return [...f.dp, ...s.dp];
      });
      return { dx: null, dp: [dW1!, db1!, dW2!, db2!] };
    },

    perSampleParamGrads(c, [wt1, bs1, wt2, bs2], dy) {
      return tf.tidy(() => {
        const per2 = block2.perSampleParamGrads(c.second, [wt2!, bs2!], dy);
        const dx = block2.backward(c.second, [wt2!, bs2!], dy, true).dx!;
        const per1 = block1.perSampleParamGrads(c.first, [wt1!, bs1!], tf.mul(dx, c.mask));
        return [...per1, ...per2];
      });
    },

    rForward(c, _p, [vW1, vb1, vW2, vb2], xDot, k) {
      if (xDot) throw firstOnly('an input tangent');
      return tf.tidy(() => {
        const b = c.batch;
        const viaFirst = tf.reshape(tf.matMul(flatFirst(vW1!, vb1!, k), hessianParts(c).response), [
          k * b,
          pg2.h2,
          pg2.w2,
          c2,
        ]);
        const own = routedDirections(g2, pg2, c.second, augmentedDirections(g2, vW2!, vb2!, k), k);
        return tf.add(viaFirst, own);
      });
    },

    rBackward(c, _p, [vW1, vb1, vW2], dy, dyDot, xDot, k, needInputGrad) {
      if (xDot) throw firstOnly('an input tangent');
      if (needInputGrad) throw firstOnly('the input gradient');
      const out = tf.tidy(() => {
        const [hc, hcT] = hPerChannel(c, dy);
        // Second layer: its routed patches against dyDot, and sum_f V1aug[f, ch] H[ch, f, :].
        const [sW2, sB2] = splitAugmented(g2, routedFilterGrad(c.second, dyDot, k, q2, c2), k);
        const v1 = rows(tf.transpose(augmentedDirections(g1, vW1!, vb1!, k), [2, 0, 1]));
        const viaV1 = tf.stack(v1.map((v, ch) => tf.matMul(v, hc[ch]!))); // [c1, K, taps * c2]
        const gW2 = tf.add(
          sW2,
          tf.reshape(tf.transpose(tf.reshape(viaV1, [c1, k, g2.kh * g2.kw, c2]), [1, 2, 0, 3]), [
            k,
            g2.kh,
            g2.kw,
            c1,
            c2,
          ]),
        );
        // First layer: G^T dyDot, and H against the second layer's directions.
        const direct = tf.transpose(
          tf.reshape(
            tf.matMul(tf.reshape(dyDot, [k, c.batch * q2 * c2]), hessianParts(c).responseT),
            [k, c1, fa1],
          ),
          [0, 2, 1],
        );
        const v2 = rows(
          tf.reshape(tf.transpose(tf.reshape(vW2!, [k, g2.kh * g2.kw, c1, c2]), [2, 0, 1, 3]), [
            c1,
            k,
            g2.kh * g2.kw * c2,
          ]),
        );
        const viaV2 = tf.stack(v2.map((v, ch) => tf.matMul(v, hcT[ch]!))); // [c1, K, F1 + 1]
        const [gW1, gB1] = splitAugmented(g1, tf.add(direct, tf.transpose(viaV2, [1, 2, 0])), k);
        return [gW1, gB1, gW2, sB2];
      });
      return { dxDot: null, dpDot: out };
    },

    // Second order, by composing the sub-layers' passes on the caches the pair holds
    // (conv2dMaxPool, relu, conv2dMaxPool: the same function and derivatives; the path runs with
    // K = 1 or 2 once per training step, so the first block's tangent is formed here instead of
    // folded into per-point matrices). The input is data: the first block's output has no second
    // derivative, so yDDot = route2(2 conv(relu'(yDot1), V2)).
    r2Forward(c, p, v, xDot, xDDot, k) {
      if (xDot || xDDot) throw firstOnly('an input tangent');
      return tf.tidy(() => secondOrderForward(c, p, v, k).yDDot);
    },

    r2Backward(c, p, v, dy, dyDot, dyDDot, xDot, xDDot, k, needInputGrad) {
      if (xDot || xDDot) throw firstOnly('an input tangent');
      if (needInputGrad) throw firstOnly('the input gradient');
      const out = tf.tidy(() => {
        const [wt1, bs1, wt2, bs2] = p;
        const [vW1, vb1, vW2, vb2] = v;
        const p2 = [wt2!, bs2!];
        const v2 = [vW2!, vb2!];
        const { a1Dot, a1DDot, gate } = secondOrderForward(c, p, v, k);
        // Back through the second block: the gradient at its input and its two derivatives.
        const da1 = block2.backward(c.second, p2, dy, true).dx!;
        const da1Dot = block2.rBackward(c.second, p2, v2, dy, dyDot, a1Dot, k, true).dxDot!;
        const s2 = block2.r2Backward!(c.second, p2, v2, dy, dyDot, dyDDot, a1Dot, a1DDot, k, true);
        // Through the ReLU, then the first block's parameters (its input is data).
        const s1 = block1.r2Backward!(
          c.first,
          [wt1!, bs1!],
          [vW1!, vb1!],
          act.backward(gate, [], da1, true).dx!,
          act.rBackward(gate, [], [], da1, da1Dot, a1Dot, k, true).dxDot!,
          act.r2Backward!(gate, [], [], da1, da1Dot, s2.dxDDot!, a1Dot, a1DDot, k, true).dxDDot!,
          null,
          null,
          k,
          false,
        );
        return [...s1.dpDDot, ...s2.dpDDot];
      });
      return { dxDDot: null, dpDDot: out };
    },

    cacheTensors: (c) => [
      ...block1.cacheTensors(c.first),
      c.mask,
      ...block2.cacheTensors(c.second),
      ...[c.basis, c.response, c.responseT].filter((t): t is tf.Tensor => t !== null),
    ],

    hvpFlopsPerSample() {
      // Per direction and sample: the routed-patch products of the second layer (R-forward and
      // R-backward) and the products with G and G^T. Not counted (they do not scale with the
      // batch): the two contractions with H, 4 c1 (F1 + 1) kh2 kw2 c2 per direction, and
      // forming H once per product, 2 (F1 + 1) B c1 kh2 kw2 c2 Ho2 Wo2.
      return 4 * q2 * fa2 * c2 + 4 * c1 * fa1 * q2 * c2;
    },
  };
}
