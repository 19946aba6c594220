import type { Rng } from '@lethe/core';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { requireShape } from '../check.js';
import type { Layer } from './layer.js';

export interface BatchNormOptions {
  /** Per-sample input shape; the last axis is the channel axis ([H, W, C] or [C]). */
  readonly inputShape: readonly number[];
  /** Frozen running mean per channel (default 0, PyTorch's initial value). */
  readonly mean?: readonly number[];
  /** Frozen running variance per channel (default 1, PyTorch's initial value). */
  readonly variance?: readonly number[];
  /** Added to the variance (default 1e-5, as PyTorch). */
  readonly eps?: number;
}

interface BatchNormCache {
  batch: number;
  /** The normalised input (x - mean) / sqrt(variance + eps), [B, ...shape]. */
  xhat: tf.Tensor;
  /** 1 / sqrt(variance + eps), [C]. */
  r: tf.Tensor1D;
  /** weight * r, [C]: the layer's derivative with respect to its input. */
  scale: tf.Tensor1D;
}

/**
 * Batch normalisation in inference mode: y = weight * (x - mean) / sqrt(variance + eps) + bias
 * per channel, with the running statistics frozen as constants of the layer (not parameters).
 * The objective then stays a sum of per-sample losses, which the unlearning recursion needs;
 * training-mode statistics would couple the samples of a batch.
 *
 * Layout: "weight" [C] (the scale gamma, initialised to 1) then "bias" [C] (the shift beta,
 * initialised to 0), as PyTorch's nn.BatchNorm2d. The layer is linear in its input and bilinear
 * in (weight, input), so its R-passes are a few elementwise products per channel.
 */
export function batchNorm(options: BatchNormOptions): Layer<BatchNormCache> {
  const shape = requireShape('batchNorm', 'inputShape', options.inputShape);
  const c = shape[shape.length - 1]!;
  const size = shape.reduce((a, b) => a * b, 1);
  const pos = size / c;
  const eps = options.eps ?? 1e-5;
  if (!(Number.isFinite(eps) && eps >= 0)) {
    throw new LetheError('invalid-argument', `batchNorm: eps is ${eps}; pass a number >= 0.`);
  }
  const stat = (what: string, values: readonly number[] | undefined, fill: number): number[] => {
    if (values === undefined) return new Array<number>(c).fill(fill);
    if (values.length !== c || !values.every((t) => Number.isFinite(t))) {
      throw new LetheError(
        'invalid-argument',
        `batchNorm: ${what} must hold ${c} finite numbers (one per channel), got ${values.length} values.`,
      );
    }
    return [...values];
  };
  const mean = stat('mean', options.mean, 0);
  const variance = stat('variance', options.variance, 1);
  if (variance.some((v) => v + eps <= 0)) {
    throw new LetheError(
      'invalid-argument',
      'batchNorm: variance + eps must be > 0 for every channel; pass running variances >= 0 and eps > 0.',
    );
  }
  const rValues = variance.map((v) => 1 / Math.sqrt(v + eps));

  /** Sum over samples and positions of t [n, ...shape] as [n / B groups, C]. */
  const channelSum = (t: tf.Tensor, groups: number): tf.Tensor =>
    tf.sum(tf.reshape(t, [groups, -1, c]), 1);

  return {
    kind: 'batchNorm',
    inputShape: shape,
    outputShape: shape,
    params: [
      { name: 'weight', shape: [c] },
      { name: 'bias', shape: [c] },
    ],

    init(_rng: Rng, out: Float32Array): void {
      out.fill(1, 0, c);
      out.fill(0, c, 2 * c);
    },

    forward(x, [weight, bias]) {
      const batch = x.shape[0]!;
      const [r, xhat, scale] = tf.tidy(() => {
        const r = tf.tensor1d(rValues);
        const shift = tf.tensor1d(mean.map((m, i) => -m * rValues[i]!));
        const xhat = tf.add(tf.mul(tf.reshape(x, [batch, ...shape]), r), shift);
        return [r, xhat, tf.mul(weight!, r)];
      });
      const y = tf.add(tf.mul(xhat!, weight!), bias!);
      return {
        y,
        cache: { batch, xhat: xhat!, r: r as tf.Tensor1D, scale: scale as tf.Tensor1D },
      };
    },

    backward(cc, _p, dy, needInputGrad) {
      const [dW, dB, dx] = tf.tidy(() => {
        const out = [
          tf.reshape(channelSum(tf.mul(dy, cc.xhat), 1), [c]),
          tf.reshape(channelSum(dy, 1), [c]),
        ];
        return needInputGrad ? [...out, tf.mul(dy, cc.scale)] : out;
      });
      return { dx: dx ?? null, dp: [dW!, dB!] };
    },

    perSampleParamGrads(cc, _p, dy) {
      return tf.tidy(() => [channelSum(tf.mul(dy, cc.xhat), cc.batch), channelSum(dy, cc.batch)]);
    },

    // yDot = vW * xhat + vb + scale * xDot.
    rForward(cc, _p, [vW, vb], xDot, k) {
      return tf.tidy(() => {
        const b = cc.batch;
        const xhat = tf.reshape(cc.xhat, [1, b * pos, c]);
        let yDot = tf.add(tf.mul(xhat, tf.reshape(vW!, [k, 1, c])), tf.reshape(vb!, [k, 1, c]));
        if (xDot) yDot = tf.add(yDot, tf.mul(tf.reshape(xDot, [k, b * pos, c]), cc.scale));
        return tf.reshape(yDot, [k * b, ...shape]);
      });
    },

    // dW = sum dy xhat, db = sum dy, dx = dy weight r: their tangents by the product rule, with
    // xhatDot = r xDot and weightDot = vW.
    rBackward(cc, _p, [vW], dy, dyDot, xDot, k, needInputGrad) {
      const [dW, dB, dxDot] = tf.tidy(() => {
        const b = cc.batch;
        const dyDot3 = tf.reshape(dyDot, [k, b * pos, c]);
        const dy3 = tf.reshape(dy, [1, b * pos, c]);
        let gW = tf.mul(dyDot3, tf.reshape(cc.xhat, [1, b * pos, c]));
        if (xDot) gW = tf.add(gW, tf.mul(tf.mul(tf.reshape(xDot, [k, b * pos, c]), dy3), cc.r));
        const out = [tf.sum(gW, 1), tf.sum(dyDot3, 1)];
        if (!needInputGrad) return out;
        const dx = tf.add(
          tf.mul(dyDot3, cc.scale),
          tf.mul(dy3, tf.mul(tf.reshape(vW!, [k, 1, c]), cc.r)),
        );
        return [...out, tf.reshape(dx, [k * b, ...shape])];
      });
      return { dxDot: dxDot ?? null, dpDot: [dW!, dB!] };
    },

    cacheTensors: (cc) => [cc.xhat, cc.r, cc.scale],

    hvpFlopsPerSample(needInputGrad, hasInputTangent) {
      // R-forward: vW xhat + vb (+ scale xDot and its add); R-backward: the two channel sums
      // (+ the xDot dy r term and its add), then dx's two products and add.
      let flops = 2 * size + 3 * size;
      if (hasInputTangent) flops += 2 * size + 3 * size;
      if (needInputGrad) flops += 3 * size;
      return flops;
    },
  };
}
