import type { Rng } from '@lethe/core';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './layer.js';

/**
 * 2-D convolution, stride 1, NHWC:
 * y[b, i, j, o] = b[o] + sum_{u, v, c} x[b, i + u - p, j + v - p, c] W[u, v, c, o]
 * (cross-correlation, as PyTorch's nn.Conv2d and tfjs's conv2d; p = zero padding on every side).
 *
 * Layout: two tensors, "weight" [kh, kw, in, out] (tfjs HWIO, row-major) then "bias" [out]
 * (the weight alone with `bias: false`).
 * (PyTorch stores the weight as [out, in, kh, kw]; the values are the same after a transpose.)
 * Initialisation as PyTorch's nn.Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and
 * bias, fan_in = in * kh * kw (kaiming-uniform with a = sqrt(5)); weights drawn first, in layout
 * order.
 *
 * Hessian-matrix products by the R-operator, K directions per pass, shaped around the kernels the
 * wasm backend runs fast (stacked filters, cached im2col, batch-as-channels filter gradients):
 * docs/derivations/convolution-hessian-products.md#conv2d derives each term.
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
  /**
   * Whether the layer has a bias (default true). A convolution followed by batch normalisation
   * has none, as in ResNets: the normalisation's shift would make it redundant.
   */
  readonly bias?: boolean;
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

/** Shapes and paddings of a stride-1 convolution, shared by conv2d and conv2dMaxPool. */
export interface ConvGeometry {
  readonly h: number;
  readonly w: number;
  readonly ci: number;
  readonly co: number;
  readonly kh: number;
  readonly kw: number;
  readonly p: number;
  readonly ho: number;
  readonly wo: number;
  /** Output positions ho * wo. */
  readonly pos: number;
  /** Filter taps per output channel, kh * kw * ci. */
  readonly f: number;
  readonly fwdPad: 'valid' | Pad4;
  /** Padding of convT(g) = conv(pad(g, kernel - 1 - p), reversed filter): the output is H x W. */
  readonly backPad: 'valid' | Pad4;
}

export function convGeometry(kind: string, options: Conv2dOptions): ConvGeometry {
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
      throw new LetheError(
        'invalid-argument',
        `${kind}: ${name} must be a positive integer, got ${value}.`,
      );
    }
  }
  if (!Number.isInteger(p) || p < 0 || p >= kh || p >= kw) {
    throw new LetheError(
      'invalid-argument',
      `${kind}: padding must be 'valid' or an integer in [0, kernel - 1] = [0, ${Math.min(kh, kw) - 1}], got ${padding}.`,
    );
  }
  if (
    inputShape.length !== 3 ||
    inputShape[2] !== ci ||
    !inputShape.every((s) => Number.isInteger(s) && s > 0)
  ) {
    throw new LetheError(
      'invalid-argument',
      `${kind}: inputShape must be [H, W, ${ci}] (HWC with inChannels channels, whole numbers >= 1), got [${inputShape}].`,
    );
  }
  const [h, w] = inputShape as [number, number, number];
  const ho = h + 2 * p - kh + 1;
  const wo = w + 2 * p - kw + 1;
  if (!(ho > 0 && wo > 0)) {
    throw new LetheError(
      'invalid-argument',
      `${kind}: a ${kh}x${kw} kernel does not fit a ${h}x${w} input with padding ${p}; use a smaller kernel or more padding.`,
    );
  }
  const qh = kh - 1 - p;
  const qw = kw - 1 - p;
  return {
    h,
    w,
    ci,
    co,
    kh,
    kw,
    p,
    ho,
    wo,
    pos: ho * wo,
    f: kh * kw * ci,
    fwdPad:
      p === 0
        ? 'valid'
        : [
            [0, 0],
            [p, p],
            [p, p],
            [0, 0],
          ],
    backPad:
      qh === 0 && qw === 0
        ? 'valid'
        : [
            [0, 0],
            [qh, qh],
            [qw, qw],
            [0, 0],
          ],
  };
}

/** PyTorch's nn.Conv2d initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and bias. */
export function initConv(g: ConvGeometry, rng: Rng, out: Float32Array): void {
  const bound = 1 / Math.sqrt(g.f);
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-bound, bound);
}

const padImages = (g: ConvGeometry, t: tf.Tensor4D): tf.Tensor4D =>
  g.p === 0
    ? t
    : tf.pad(t, [
        [0, 0],
        [g.p, g.p],
        [g.p, g.p],
        [0, 0],
      ]);

/**
 * im2col: the patches of x [B, H, W, in] in HWI order, [B, Ho, Wo, F], as one convolution with
 * the 0/1 filter that copies tap (u, v, c) to channel (u, v, c) (exact: one product by 1 and
 * zeros per output; kh * kw slices cost ~10x more on the wasm backend).
 */
export function im2col(g: ConvGeometry, x: tf.Tensor4D, _batch: number): tf.Tensor {
  const eye = tf.reshape(tf.eye(g.f), [g.kh, g.kw, g.ci, g.f]) as tf.Tensor4D;
  return tf.conv2d(x, eye, 1, g.fwdPad);
}

/** Filter directions [K, ...weight] and bias directions [K, out] as [K, F + 1, out]. */
export function augmentedDirections(
  g: ConvGeometry,
  vW: tf.Tensor,
  vb: tf.Tensor,
  k: number,
): tf.Tensor {
  return tf.concat([tf.reshape(vW, [k, g.f, g.co]), tf.reshape(vb, [k, 1, g.co])], 1);
}

/** [K, F + 1, out] -> the weight part [K, kh, kw, in, out] and the bias part [K, out]. */
export function splitAugmented(g: ConvGeometry, t: tf.Tensor, k: number): [tf.Tensor, tf.Tensor] {
  return [
    tf.reshape(tf.slice(t, [0, 0, 0], [k, g.f, g.co]), [k, g.kh, g.kw, g.ci, g.co]),
    tf.reshape(tf.slice(t, [0, g.f, 0], [k, 1, g.co]), [k, g.co]),
  ];
}

/**
 * sum_b corr(xDot_kb, gFull_b) for every k: [K, kh, kw, in, out]. The K * in tangent images
 * [K * in, Hp, Wp, B] (batch as channels) convolved with the gradient as filters [Ho, Wo, B, out].
 */
export function tangentFilterGrad(
  g: ConvGeometry,
  xDot: tf.Tensor,
  gFull: tf.Tensor,
  batch: number,
  k: number,
): tf.Tensor {
  const xdT = tf.reshape(
    tf.transpose(tf.reshape(xDot, [k, batch, g.h * g.w, g.ci]), [0, 3, 2, 1]),
    [k * g.ci, g.h, g.w, batch],
  ) as tf.Tensor4D;
  const gF = tf.transpose(
    tf.reshape(gFull, [batch, g.ho, g.wo, g.co]),
    [1, 2, 0, 3],
  ) as tf.Tensor4D;
  const out = tf.conv2d(padImages(g, xdT), gF, 1, 'valid');
  return tf.transpose(tf.reshape(out, [k, g.ci, g.kh, g.kw, g.co]), [0, 2, 3, 1, 4]);
}

/** The reversed filter with in/out swapped, [kh, kw, out, in]: convT(g, W) = conv(pad(g), it). */
export function flipFilter(w: tf.Tensor): tf.Tensor4D {
  return tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
}

/** convT(gFull_b, W) for gradients gFull [N, Ho, Wo, out]: [N, H, W, in]. */
export function convTranspose(g: ConvGeometry, gFull: tf.Tensor, wFlip: tf.Tensor4D, n: number) {
  return tf.conv2d(tf.reshape(gFull, [n, g.ho, g.wo, g.co]) as tf.Tensor4D, wFlip, 1, g.backPad);
}

/**
 * convT(gFull_b, V_k) for all k: one convolution with the reversed directions stacked as
 * [kh, kw, out, K * in], then the block-major layout [K * B, H, W, in].
 */
export function convTransposeDirections(
  g: ConvGeometry,
  gFull: tf.Tensor,
  vW: tf.Tensor,
  batch: number,
  k: number,
): tf.Tensor {
  // Taps reversed by slices of [kh * kw, out * K * in] rows (the wasm Reverse kernel and
  // rank-5 transposes are ~20x slower on this block).
  const taps = g.kh * g.kw;
  const t = tf.reshape(tf.transpose(tf.reshape(vW, [k, taps, g.ci, g.co]), [1, 3, 0, 2]), [
    taps,
    g.co * k * g.ci,
  ]);
  const reversed = Array.from({ length: taps }, (_, i) =>
    tf.slice(t, [taps - 1 - i, 0], [1, g.co * k * g.ci]),
  );
  const vFlip = tf.reshape(tf.concat(reversed, 0), [g.kh, g.kw, g.co, k * g.ci]) as tf.Tensor4D;
  const out = convTranspose(g, gFull, vFlip, batch);
  return tf.reshape(tf.transpose(tf.reshape(out, [batch * g.h * g.w, k, g.ci]), [1, 0, 2]), [
    k * batch,
    g.h,
    g.w,
    g.ci,
  ]);
}

/**
 * Second-order helpers (Taylor mode, K = 1 or 2 directions, once per training step): terms in
 * which the k-th tangent meets the k-th direction or the k-th gradient tangent, done one direction
 * at a time with the K = 1 forms of the helpers above (clarity over speed).
 */
const perDirection = (k: number, term: (r: number) => tf.Tensor): tf.Tensor => {
  const parts = Array.from({ length: k }, (_, r) => term(r));
  return k === 1 ? parts[0]! : tf.concat(parts, 0);
};

/** Rows r * n .. (r + 1) * n of a block-major tangent [K * n, ...]. */
const blockRow = (t: tf.Tensor, r: number, n: number): tf.Tensor => {
  const rest = t.shape.slice(1);
  const flat = tf.reshape(t, [t.shape[0]!, -1]);
  return tf.reshape(tf.slice(flat, [r * n, 0], [n, -1]), [n, ...rest]);
};

/** conv(xDot_k, V_k) for every k (no bias), [K * B, Ho, Wo, out]. */
export function directionConv(
  g: ConvGeometry,
  xDot: tf.Tensor,
  vW: tf.Tensor,
  batch: number,
  k: number,
): tf.Tensor {
  const x4 = tf.reshape(xDot, [k * batch, g.h, g.w, g.ci]);
  const v5 = tf.reshape(vW, [k, g.kh, g.kw, g.ci, g.co]);
  return perDirection(k, (r) =>
    tf.conv2d(
      blockRow(x4, r, batch) as tf.Tensor4D,
      tf.reshape(blockRow(v5, r, 1), [g.kh, g.kw, g.ci, g.co]) as tf.Tensor4D,
      1,
      g.fwdPad,
    ),
  );
}

/**
 * sum_b corr(xDot_kb, gFull_kb) for every k, with a gradient tangent per direction
 * (gFull [K * B, Ho, Wo, out]): [K, kh, kw, in, out].
 */
export function pairedFilterGrad(
  g: ConvGeometry,
  xDot: tf.Tensor,
  gFull: tf.Tensor,
  batch: number,
  k: number,
): tf.Tensor {
  const x4 = tf.reshape(xDot, [k * batch, g.h, g.w, g.ci]);
  const g4 = tf.reshape(gFull, [k * batch, g.ho, g.wo, g.co]);
  return perDirection(k, (r) =>
    tangentFilterGrad(g, blockRow(x4, r, batch), blockRow(g4, r, batch), batch, 1),
  );
}

/** convT(gFull_kb, V_k) for every k, gFull [K * B, Ho, Wo, out]: [K * B, H, W, in]. */
export function pairedConvTransposeDirections(
  g: ConvGeometry,
  gFull: tf.Tensor,
  vW: tf.Tensor,
  batch: number,
  k: number,
): tf.Tensor {
  const g4 = tf.reshape(gFull, [k * batch, g.ho, g.wo, g.co]);
  const v5 = tf.reshape(vW, [k, g.kh, g.kw, g.ci, g.co]);
  return perDirection(k, (r) =>
    convTransposeDirections(g, blockRow(g4, r, batch), blockRow(v5, r, 1), batch, 1),
  );
}

interface ConvCache {
  batch: number;
  /** Input [B, H, W, in]. */
  x: tf.Tensor4D;
  /** im2col of the input with a ones column, [B * P, F + 1]. */
  patches: tf.Tensor2D;
  /** Reversed filter with in/out swapped, [kh, kw, out, in]. */
  wFlip: tf.Tensor4D;
}

export function conv2d(options: Conv2dOptions): Layer<ConvCache> {
  const g = convGeometry('conv2d', options);
  const { h, w, ci, co, kh, kw, ho, wo, pos, f } = g;
  const hasBias = options.bias ?? true;
  /** The parameter tensors of this layer: the bias part is dropped when it has none. */
  const own = (weight: tf.Tensor, bias: tf.Tensor): tf.Tensor[] =>
    hasBias ? [weight, bias] : [weight];

  /** sum_b corr(x_b, t_kb) and sum t_k for t [K * B, Ho, Wo, out]: [K, F + 1, out]. */
  const inputFilterGrad = (c: ConvCache, t: tf.Tensor, k: number): tf.Tensor => {
    const tT = tf.reshape(tf.transpose(tf.reshape(t, [k, c.batch * pos, co]), [0, 2, 1]), [
      k * co,
      c.batch * pos,
    ]);
    return tf.transpose(tf.reshape(tf.matMul(tT, c.patches), [k, co, f + 1]), [0, 2, 1]);
  };

  return {
    kind: 'conv2d',
    inputShape: [h, w, ci],
    outputShape: [ho, wo, co],
    params: [
      { name: 'weight', shape: [kh, kw, ci, co] },
      ...(hasBias ? [{ name: 'bias', shape: [co] }] : []),
    ],

    init(rng: Rng, out: Float32Array): void {
      initConv(g, rng, out);
    },

    forward(x, [weight, bias]) {
      const batch = x.shape[0]!;
      const x4 = tf.reshape(x, [batch, h, w, ci]) as tf.Tensor4D;
      // (Not tf.fused.conv2d: the wasm kernel reads the bias rank from the shape its data was
      // created with, so a reshaped slice of a [K, out] block is rejected.)
      const conv = tf.conv2d(x4, weight as tf.Tensor4D, 1, g.fwdPad);
      const y = hasBias ? tf.add(conv, bias!) : conv;
      const patches = tf.tidy(() =>
        tf.concat(
          [tf.reshape(im2col(g, x4, batch), [batch * pos, f]), tf.ones([batch * pos, 1])],
          1,
        ),
      ) as tf.Tensor2D;
      return { y, cache: { batch, x: x4, patches, wFlip: flipFilter(weight!) } };
    },

    backward(c, _p, dy, needInputGrad) {
      const [dW, db, dx] = tf.tidy(() => {
        const [gW, gb] = splitAugmented(g, inputFilterGrad(c, dy, 1), 1);
        const out = [tf.reshape(gW, [kh, kw, ci, co]), tf.reshape(gb, [co])];
        return needInputGrad ? [...out, convTranspose(g, dy, c.wFlip, c.batch)] : out;
      });
      if (!hasBias) db!.dispose();
      return { dx: dx ?? null, dp: own(dW!, db!) };
    },

    perSampleParamGrads(c, _p, dy) {
      return tf.tidy(() => {
        const b = c.batch;
        const per = tf.matMul(
          tf.reshape(c.patches, [b, pos, f + 1]),
          tf.reshape(dy, [b, pos, co]),
          true,
        );
        const [gW, gb] = splitAugmented(g, per, b);
        return own(tf.reshape(gW, [b, f * co]), gb);
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
        const conv = tf.conv2d(c.x, vStack, 1, g.fwdPad);
        const yv = hasBias ? tf.add(conv, tf.reshape(vb!, [k * co])) : conv;
        let yDot: tf.Tensor = tf.reshape(
          tf.transpose(tf.reshape(yv, [b * pos, k, co]), [1, 0, 2]),
          [k * b, ho, wo, co],
        );
        if (xDot) {
          const xd = tf.reshape(xDot, [k * b, h, w, ci]) as tf.Tensor4D;
          yDot = tf.add(yDot, tf.conv2d(xd, weight as tf.Tensor4D, 1, g.fwdPad));
        }
        return yDot;
      });
    },

    rBackward(c, _p, [vW], dy, dyDot, xDot, k, needInputGrad) {
      const [dW, dB, dxDot] = tf.tidy(() => {
        const b = c.batch;
        let [gW, gB] = splitAugmented(g, inputFilterGrad(c, dyDot, k), k);
        if (xDot) gW = tf.add(gW, tangentFilterGrad(g, xDot, dy, b, k));
        if (!needInputGrad) return [gW, gB];
        const direct = convTranspose(g, dyDot, c.wFlip, k * b);
        return [gW, gB, tf.add(direct, convTransposeDirections(g, dy, vW!, b, k))];
      });
      if (!hasBias) dB!.dispose();
      return { dxDot: dxDot ?? null, dpDot: own(dW!, dB!) };
    },

    // Second order: y is bilinear in (W, x) plus the bias, as dense: yDDot = conv(xDDot, W) +
    // 2 conv(xDot, V) (nothing for a data input); the backward pass's second derivatives follow
    // the product rule: dW'' = corr(x, dyDDot) + 2 corr(xDot, dyDot) + corr(xDDot, dy),
    // db'' = sum dyDDot, dx'' = convT(dyDDot, W) + 2 convT(dyDot, V).
    r2Forward(c, [weight], [vW], xDot, xDDot, k) {
      return tf.tidy(() => {
        const b = c.batch;
        if (!xDot || !xDDot) return tf.zeros([k * b, ho, wo, co]);
        const xdd = tf.reshape(xDDot, [k * b, h, w, ci]) as tf.Tensor4D;
        const direct = tf.conv2d(xdd, weight as tf.Tensor4D, 1, g.fwdPad);
        return tf.add(direct, tf.mul(directionConv(g, xDot, vW!, b, k), 2));
      });
    },

    r2Backward(c, _p, [vW], dy, dyDot, dyDDot, xDot, xDDot, k, needInputGrad) {
      const [dW, dB, dxDDot] = tf.tidy(() => {
        const b = c.batch;
        let [gW, gB] = splitAugmented(g, inputFilterGrad(c, dyDDot, k), k);
        if (xDot) gW = tf.add(gW, tf.mul(pairedFilterGrad(g, xDot, dyDot, b, k), 2));
        if (xDDot) gW = tf.add(gW, tangentFilterGrad(g, xDDot, dy, b, k));
        if (!needInputGrad) return [gW, gB];
        const direct = convTranspose(g, dyDDot, c.wFlip, k * b);
        const cross = pairedConvTransposeDirections(g, dyDot, vW!, b, k);
        return [gW, gB, tf.add(direct, tf.mul(cross, 2))];
      });
      if (!hasBias) dB!.dispose();
      return { dxDDot: dxDDot ?? null, dpDDot: own(dW!, dB!) };
    },

    cacheTensors: (c) => [c.x, c.patches, c.wFlip],

    hvpFlopsPerSample(needInputGrad, hasInputTangent) {
      const mac = pos * f * co;
      // R-forward: conv(x, V) + vb; R-backward: sum_b corr(x, dyDot) and sum dyDot.
      let flops = 2 * mac + pos * co + 2 * pos * (f + 1) * co;
      // conv(xDot, W) and its add; sum_b corr(xDot, dy) and its add.
      if (hasInputTangent) flops += 2 * mac + pos * co + 2 * mac + f * co;
      // convT(dyDot, W) + convT(dy, V) and the add: useful products only (the zero padding of
      // the transposed convolutions is not counted).
      if (needInputGrad) flops += 4 * mac + h * w * ci;
      return flops;
    },
  };
}
