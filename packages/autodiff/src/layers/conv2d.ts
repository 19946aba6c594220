import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../rng.js';
import type { Layer } from './layer.js';

/**
 * 2-D convolution, stride 1, NHWC: y[b, i, j, o] = b[o] + sum_{u, v, c} x[b, i + u - p, j + v - p, c] W[u, v, c, o]
 * (cross-correlation, as PyTorch's nn.Conv2d and tfjs's conv2d; p = zero padding on every side).
 *
 * Layout: two tensors, "weight" [kh, kw, in, out] (tfjs HWIO, row-major) then "bias" [out].
 * (PyTorch stores the weight as [out, in, kh, kw]; the values are the same after a transpose.)
 * Initialisation as PyTorch's nn.Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
 * bias, fan_in = in * kh * kw (kaiming-uniform with a = sqrt(5)); weights drawn first, in layout
 * order.
 *
 * Hessian-matrix products (R-operator, K directions at once, B samples, P = output positions):
 * - R-forward: yDot_k = conv(x, V_k) + vb_k + conv(xDot_k, W). The K filter directions are stacked
 *   along the output channels and applied in one convolution with K * out filters; the result
 *   [B, P, K, out] is brought to the block-major tangent layout by one transpose that moves
 *   contiguous runs of `out` floats. The input-tangent term is one convolution over K * B images.
 * - R-backward: R(dW)_k = sum_b corr(x_b, dyDot_kb) + sum_b corr(xDot_kb, dy_b),
 *   R(db)_k = sum dyDot_k, R(dx)_k = convT(dyDot_k, W) + convT(dy, V_k).
 *   tfjs's wasm backend has no filter-gradient kernel; a filter gradient sum_b corr(a_b, g_b) is a
 *   convolution in which the batch plays the channels: images a as [C, H, W, B] convolved with g as
 *   filters [Ho, Wo, B, M] give [C, kh, kw, M]. For the first term the K tangents are the M axis
 *   (one convolution for the whole block), for the second the K * C tangent images are the batch.
 *   The transposed convolutions are convolutions of the zero-padded gradient with the spatially
 *   reversed filter (the wasm backend's Conv2DBackpropInput is a plain loop, ~10x slower); the
 *   K directions of convT(dy, V_k) are again stacked along the output channels.
 */
export interface Conv2dOptions {
  readonly inChannels: number;
  readonly outChannels: number;
  /** Kernel size: square, or [kh, kw]. */
  readonly kernel: number | readonly [number, number];
  /** 'valid' (no padding) or the number of zero rows/columns added on every side. */
  readonly padding?: 'valid' | number;
  /** Per-sample input shape [H, W, C]. */
  readonly inputShape: readonly number[];
}

interface ConvCache {
  batch: number;
  /** Input [B, H, W, in]. */
  x: tf.Tensor4D;
  /** Zero-padded input with the batch as channels, [in, H + 2p, W + 2p, B]. */
  xT: tf.Tensor4D;
  /** Reversed filter with in/out swapped, [kh, kw, out, in]: convT(g, W) = conv(pad(g), wFlip). */
  wFlip: tf.Tensor4D;
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

export function conv2d(options: Conv2dOptions): Layer<ConvCache> {
  const { inChannels: ci, outChannels: co, inputShape } = options;
  const [kh, kw] =
    typeof options.kernel === 'number' ? [options.kernel, options.kernel] : options.kernel;
  const padding = options.padding ?? 'valid';
  const p = padding === 'valid' ? 0 : padding;
  for (const [name, value] of [
    ['inChannels', ci],
    ['outChannels', co],
    ['kernel height', kh],
    ['kernel width', kw],
  ] as const) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new Error(`conv2d: ${name} must be a positive integer, got ${value}.`);
    }
  }
  if (!Number.isInteger(p) || p < 0 || p >= kh || p >= kw) {
    throw new Error(
      `conv2d: padding must be 'valid' or an integer in [0, kernel - 1] = [0, ${Math.min(kh, kw) - 1}], got ${padding}.`,
    );
  }
  if (inputShape.length !== 3 || inputShape[2] !== ci) {
    throw new Error(
      `conv2d: inputShape must be [H, W, ${ci}] (HWC with inChannels channels), got [${inputShape}].`,
    );
  }
  const [h, w] = inputShape as [number, number, number];
  const hp = h + 2 * p;
  const wp = w + 2 * p;
  const ho = hp - kh + 1;
  const wo = wp - kw + 1;
  if (ho <= 0 || wo <= 0) {
    throw new Error(
      `conv2d: a ${kh}x${kw} kernel does not fit a ${h}x${w} input with padding ${p}; use a smaller kernel or more padding.`,
    );
  }
  const pos = ho * wo;
  const f = kh * kw * ci;
  const inSize = h * w * ci;
  const fwdPad: 'valid' | Pad4 =
    p === 0
      ? 'valid'
      : [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ];
  // convT(g) = conv(g padded by kernel - 1 - p, reversed filter): the output is exactly H x W.
  const qh = kh - 1 - p;
  const qw = kw - 1 - p;
  const backPad: 'valid' | Pad4 =
    qh === 0 && qw === 0
      ? 'valid'
      : [
          [0, 0],
          [qh, qh],
          [qw, qw],
          [0, 0],
        ];
  const padImages = (t: tf.Tensor4D): tf.Tensor4D =>
    p === 0
      ? t
      : tf.pad(t, [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ]);
  /** sum_b corr(a_b, g_b) for images a as [C, Hp, Wp, B] and g as [Ho, Wo, B, M]: [C, kh, kw, M]. */
  const filterGrad = (images: tf.Tensor4D, grads: tf.Tensor4D): tf.Tensor4D =>
    tf.conv2d(images, grads, 1, 'valid');

  return {
    kind: 'conv2d',
    inputShape: [h, w, ci],
    outputShape: [ho, wo, co],
    params: [
      { name: 'weight', shape: [kh, kw, ci, co] },
      { name: 'bias', shape: [co] },
    ],

    init(rng: Rng, out: Float32Array): void {
      const bound = 1 / Math.sqrt(f);
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-bound, bound);
    },

    forward(x, [weight, bias]) {
      const batch = x.shape[0]!;
      const x4 = tf.reshape(x, [batch, h, w, ci]) as tf.Tensor4D;
      // (Not tf.fused.conv2d: the wasm kernel reads the bias rank from the shape its data was
      // created with, so a reshaped slice of a [K, out] block is rejected.)
      const y = tf.add(tf.conv2d(x4, weight as tf.Tensor4D, 1, fwdPad), bias!);
      const xT = tf.transpose(padImages(x4), [3, 1, 2, 0]);
      const wFlip = tf.transpose(tf.reverse(weight!, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      return { y, cache: { batch, x: x4, xT, wFlip } };
    },

    backward(c, _p, dy, needInputGrad) {
      const [dW, db, dx] = tf.tidy(() => {
        const b = c.batch;
        const dy4 = tf.reshape(dy, [b, ho, wo, co]) as tf.Tensor4D;
        const dyF = tf.transpose(dy4, [1, 2, 0, 3]);
        const gW = tf.transpose(filterGrad(c.xT, dyF), [1, 2, 0, 3]);
        const gb = tf.sum(tf.reshape(dy4, [b * pos, co]), 0);
        return needInputGrad ? [gW, gb, tf.conv2d(dy4, c.wFlip, 1, backPad)] : [gW, gb];
      });
      return { dx: dx ?? null, dp: [dW!, db!] };
    },

    perSampleParamGrads(c, _p, dy) {
      return tf.tidy(() => {
        const b = c.batch;
        // im2col: patches [B, P, kh * kw * in] in HWI order, then one batched product per sample.
        const xp = padImages(c.x);
        const cols: tf.Tensor[] = [];
        for (let u = 0; u < kh; u++)
          for (let v = 0; v < kw; v++) cols.push(tf.slice(xp, [0, u, v, 0], [b, ho, wo, ci]));
        const patches = tf.reshape(tf.stack(cols, 3), [b, pos, f]);
        const dy3 = tf.reshape(dy, [b, pos, co]);
        const gW = tf.reshape(tf.matMul(patches, dy3, true, false), [b, f * co]);
        const gb = tf.sum(dy3, 1);
        return [gW, gb];
      });
    },

    rForward(c, [weight], [vW, vb], xDot, k) {
      return tf.tidy(() => {
        const b = c.batch;
        // All K filter directions as one convolution with K * out filters: [kh, kw, in, K * out].
        const vStack = tf.reshape(tf.transpose(tf.reshape(vW!, [k, f, co]), [1, 0, 2]), [
          kh,
          kw,
          ci,
          k * co,
        ]) as tf.Tensor4D;
        const yv = tf.add(tf.conv2d(c.x, vStack, 1, fwdPad), tf.reshape(vb!, [k * co]));
        let yDot: tf.Tensor = tf.reshape(
          tf.transpose(tf.reshape(yv, [b * pos, k, co]), [1, 0, 2]),
          [k * b, ho, wo, co],
        );
        if (xDot) {
          const xd = tf.reshape(xDot, [k * b, h, w, ci]) as tf.Tensor4D;
          yDot = tf.add(yDot, tf.conv2d(xd, weight as tf.Tensor4D, 1, fwdPad));
        }
        return yDot;
      });
    },

    rBackward(c, _p, [vW], dy, dyDot, xDot, k, needInputGrad) {
      const [dW, dB, dxDot] = tf.tidy(() => {
        const b = c.batch;
        // sum_b corr(x_b, dyDot_kb) for all k: dyDot as filters [Ho, Wo, B, K * out].
        const dyDotT = tf.transpose(tf.reshape(dyDot, [k, b, pos, co]), [2, 1, 0, 3]);
        const g = filterGrad(c.xT, tf.reshape(dyDotT, [ho, wo, b, k * co]) as tf.Tensor4D);
        let gW: tf.Tensor = tf.transpose(tf.reshape(g, [ci, kh, kw, k, co]), [3, 1, 2, 0, 4]);
        const gB = tf.reshape(
          tf.matMul(tf.ones([1, pos * b]), tf.reshape(dyDotT, [pos * b, k * co])),
          [k, co],
        );
        if (xDot) {
          // sum_b corr(xDot_kb, dy_b) for all k: the K * in tangent images [K * in, Hp, Wp, B].
          const xdT = tf.reshape(tf.transpose(tf.reshape(xDot, [k, b, h * w, ci]), [0, 3, 2, 1]), [
            k * ci,
            h,
            w,
            b,
          ]) as tf.Tensor4D;
          const dyF = tf.transpose(tf.reshape(dy, [b, ho, wo, co]), [1, 2, 0, 3]) as tf.Tensor4D;
          const gx = filterGrad(padImages(xdT), dyF);
          gW = tf.add(gW, tf.transpose(tf.reshape(gx, [k, ci, kh, kw, co]), [0, 2, 3, 1, 4]));
        }
        if (!needInputGrad) return [gW, gB];
        const direct = tf.conv2d(
          tf.reshape(dyDot, [k * b, ho, wo, co]) as tf.Tensor4D,
          c.wFlip,
          1,
          backPad,
        );
        // convT(dy, V_k) for all k: reversed directions stacked as [kh, kw, out, K * in].
        const vFlip = tf.reshape(tf.transpose(tf.reverse(vW!, [1, 2]), [1, 2, 4, 0, 3]), [
          kh,
          kw,
          co,
          k * ci,
        ]) as tf.Tensor4D;
        const viaV = tf.conv2d(tf.reshape(dy, [b, ho, wo, co]) as tf.Tensor4D, vFlip, 1, backPad);
        const viaVT = tf.transpose(tf.reshape(viaV, [b * h * w, k, ci]), [1, 0, 2]);
        return [gW, gB, tf.add(direct, tf.reshape(viaVT, [k * b, h, w, ci]))];
      });
      return { dxDot: dxDot ?? null, dpDot: [dW!, dB!] };
    },

    cacheTensors: (c) => [c.x, c.xT, c.wFlip],

    hvpFlopsPerSample(needInputGrad, hasInputTangent) {
      const mac = pos * f * co;
      // R-forward: conv(x, V) + vb; R-backward: sum_b corr(x, dyDot) and sum dyDot.
      let flops = 2 * mac + pos * co + 2 * mac + pos * co;
      // conv(xDot, W) and its add; sum_b corr(xDot, dy) and its add.
      if (hasInputTangent) flops += 2 * mac + pos * co + 2 * mac + f * co;
      // convT(dyDot, W) + convT(dy, V): useful products only (the zero padding is not counted).
      if (needInputGrad) flops += 4 * mac + inSize;
      return flops;
    },
  };
}
