import type { Rng } from '@lethe/core';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { requireShape, requireWhole } from '../check.js';
import type { Layer } from './layer.js';

interface DenseCache {
  /** Input with a ones column appended: [B, in + 1]. */
  xAug: tf.Tensor2D;
  /** Its transpose, [in + 1, B]: matMul on the wasm backend is slow with transpose flags. */
  xAugT: tf.Tensor2D;
  /** Weights without the bias column, [out, in]. */
  w: tf.Tensor2D;
  /** Transposed weights without the bias row, [in, out]. */
  wT: tf.Tensor2D;
  batch: number;
}

/**
 * Fully connected layer y = x W^T + b.
 *
 * Layout: one tensor "weight" of shape [out, in + 1], row o holding W[o, :] then b[o]. Keeping the
 * bias beside its row lets a block of K directions be viewed as [K * out, in + 1] without a copy,
 * so the Hessian-matrix product of a linear model is two plain matrix multiplies.
 * Initialisation as PyTorch's nn.Linear: U(-1/sqrt(in), 1/sqrt(in)) for weights and bias.
 */
export function dense(
  inputs: number,
  outputs: number,
  inputShape?: readonly number[],
): Layer<DenseCache> {
  requireWhole('dense', 'inputs', inputs, 1);
  requireWhole('dense', 'outputs', outputs, 1);
  const inShape =
    inputShape === undefined ? [inputs] : requireShape('dense', 'inputShape', inputShape);
  if (inShape.reduce((a, b) => a * b, 1) !== inputs) {
    throw new LetheError(
      'invalid-argument',
      `dense: input shape [${inShape}] does not hold ${inputs} features; pass inputs = ${inShape.reduce((a, b) => a * b, 1)} (the product of the shape) or a shape that holds ${inputs}.`,
    );
  }
  const cols = inputs + 1;
  const flat = (t: tf.Tensor, rows: number): tf.Tensor2D => tf.reshape(t, [rows, inputs]);

  return {
    kind: 'dense',
    inputShape: inShape,
    outputShape: [outputs],
    params: [{ name: 'weight', shape: [outputs, cols] }],

    init(rng: Rng, out: Float32Array): void {
      const bound = 1 / Math.sqrt(inputs);
      for (let i = 0; i < out.length; i++) out[i] = rng.uniform(-bound, bound);
    },

    forward(x, [wb]) {
      const batch = x.shape[0]!;
      const xAug = tf.concat([flat(x, batch), tf.ones([batch, 1])], 1) as tf.Tensor2D;
      const xAugT = tf.transpose(xAug);
      const w = tf.slice(wb!, [0, 0], [outputs, inputs]) as tf.Tensor2D;
      const wT = tf.transpose(w);
      const y = tf.add(
        tf.matMul(flat(x, batch), wT),
        tf.reshape(tf.slice(wb!, [0, inputs], [outputs, 1]), [outputs]),
      );
      return { y, cache: { xAug, xAugT, w, wT, batch } };
    },

    backward(c, _p, dy, needInputGrad) {
      const dW = tf.matMul(tf.transpose(dy as tf.Tensor2D), c.xAug);
      const dx = needInputGrad
        ? tf.reshape(tf.matMul(dy as tf.Tensor2D, c.w), [c.batch, ...inShape])
        : null;
      return { dx, dp: [dW] };
    },

    perSampleParamGrads(c, _p, dy) {
      const b = c.batch;
      const outer = tf.mul(tf.reshape(dy, [b, outputs, 1]), tf.reshape(c.xAug, [b, 1, cols]));
      return [tf.reshape(outer, [b, outputs * cols])];
    },

    rForward(c, _p, [v], xDot, k) {
      const b = c.batch;
      // Parameter-direction term: [K*out, in+1] x [in+1, B], then tangent layout [K*B, out].
      const vx = tf.matMul(tf.reshape(v!, [k * outputs, cols]), c.xAugT);
      let yDot: tf.Tensor = tf.reshape(tf.transpose(tf.reshape(vx, [k, outputs, b]), [0, 2, 1]), [
        k * b,
        outputs,
      ]);
      if (xDot) yDot = tf.add(yDot, tf.matMul(flat(xDot, k * b), c.wT));
      return yDot;
    },

    rBackward(c, _p, [v], dy, dyDot, xDot, k, needInputGrad) {
      const b = c.batch;
      const dyDotT = tf.reshape(tf.transpose(tf.reshape(dyDot, [k, b, outputs]), [0, 2, 1]), [
        k * outputs,
        b,
      ]);
      let dW: tf.Tensor = tf.reshape(tf.matMul(dyDotT, c.xAug), [k, outputs, cols]);
      if (xDot) {
        // dy^T xDot_k for every k as one product: stack the K tangents along the columns.
        const xDotAug = tf.concat([tf.reshape(xDot, [k, b, inputs]), tf.zeros([k, b, 1])], 2);
        const stacked = tf.reshape(tf.transpose(xDotAug, [1, 0, 2]), [b, k * cols]);
        const prod = tf.matMul(tf.transpose(dy as tf.Tensor2D), stacked);
        dW = tf.add(dW, tf.transpose(tf.reshape(prod, [outputs, k, cols]), [1, 0, 2]));
      }
      let dxDot: tf.Tensor | null = null;
      if (needInputGrad) {
        const direct = tf.matMul(tf.reshape(dyDot, [k * b, outputs]), c.w);
        const vW = tf.slice(tf.reshape(v!, [k, outputs, cols]), [0, 0, 0], [k, outputs, inputs]);
        const vStacked = tf.reshape(tf.transpose(vW, [1, 0, 2]), [outputs, k * inputs]);
        const viaV = tf.transpose(
          tf.reshape(tf.matMul(dy as tf.Tensor2D, vStacked), [b, k, inputs]),
          [1, 0, 2],
        );
        dxDot = tf.reshape(tf.add(direct, tf.reshape(viaV, [k * b, inputs])), [k * b, ...inShape]);
      }
      return { dxDot, dpDot: [dW] };
    },

    // Second order: y is bilinear in (W, x), so yDDot = W xDDot + 2 V xDot (no term for data
    // inputs), and the backward pass's second derivatives follow the product rule.
    r2Forward(c, _p, [v], xDot, xDDot, k) {
      const b = c.batch;
      if (!xDot || !xDDot) return tf.zeros([k * b, outputs]);
      const direct = tf.matMul(flat(xDDot, k * b), c.wT);
      const vW = tf.slice(tf.reshape(v!, [k, outputs, cols]), [0, 0, 0], [k, outputs, inputs]);
      const cross = tf.matMul(tf.reshape(xDot, [k, b, inputs]), tf.transpose(vW, [0, 2, 1]));
      return tf.add(direct, tf.mul(tf.reshape(cross, [k * b, outputs]), 2));
    },
    r2Backward(c, _p, [v], dy, dyDot, dyDDot, xDot, xDDot, k, needInputGrad) {
      const b = c.batch;
      const dyDotK = tf.reshape(dyDot, [k, b, outputs]);
      const dyDDotT = tf.reshape(tf.transpose(tf.reshape(dyDDot, [k, b, outputs]), [0, 2, 1]), [
        k * outputs,
        b,
      ]);
      let dW: tf.Tensor = tf.reshape(tf.matMul(dyDDotT, c.xAug), [k, outputs, cols]);
      const augment = (t: tf.Tensor) =>
        tf.concat([tf.reshape(t, [k, b, inputs]), tf.zeros([k, b, 1])], 2);
      if (xDot) {
        const cross = tf.matMul(tf.transpose(dyDotK, [0, 2, 1]), augment(xDot));
        dW = tf.add(dW, tf.mul(cross, 2));
      }
      if (xDDot) {
        const dyT = tf.transpose(dy as tf.Tensor2D);
        const viaX = tf.matMul(
          tf.reshape(tf.tile(tf.reshape(dyT, [1, outputs, b]), [k, 1, 1]), [k, outputs, b]),
          augment(xDDot),
        );
        dW = tf.add(dW, viaX);
      }
      let dxDDot: tf.Tensor | null = null;
      if (needInputGrad) {
        const direct = tf.matMul(tf.reshape(dyDDot, [k * b, outputs]), c.w);
        const vW = tf.slice(tf.reshape(v!, [k, outputs, cols]), [0, 0, 0], [k, outputs, inputs]);
        const cross = tf.reshape(tf.matMul(dyDotK, vW), [k * b, inputs]);
        dxDDot = tf.reshape(tf.add(direct, tf.mul(cross, 2)), [k * b, ...inShape]);
      }
      return { dxDDot, dpDDot: [dW] };
    },
    cacheTensors: (c) => [c.xAug, c.xAugT, c.w, c.wT],

    hvpFlopsPerSample(needInputGrad, hasInputTangent) {
      const mac = outputs * cols;
      let flops = 2 * mac + 2 * mac; // R-forward parameter term, R-backward dW from dyDot
      if (hasInputTangent) flops += 2 * outputs * inputs + 2 * mac;
      if (needInputGrad) flops += 4 * outputs * inputs;
      return flops;
    },
  };
}
