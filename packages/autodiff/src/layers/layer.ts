import type { Rng } from '@lethe/core';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * One differentiable layer, written out by hand for the first and second order.
 *
 * Conventions (B = batch size, K = number of tangent directions in a block):
 * - primal activations have shape [B, ...shape];
 * - tangents (R-operator values) are stacked over the block: [K * B, ...shape], block-major;
 * - parameter tensors are given in their layout shape; parameter directions `v` as [K, ...shape].
 * The R-operator (Pearlmutter 1994) applied to forward and backward gives Hessian-matrix
 * products for a whole block at once, which is the point of Lethe's kernels.
 */
export interface Layer<Cache = unknown> {
  readonly kind: string;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** Parameter tensors (names are local; the model prefixes them). */
  readonly params: readonly { name: string; shape: readonly number[] }[];
  /** Fills this layer's parameters (same order as `params`, concatenated) from the seed. */
  init(rng: Rng, out: Float32Array): void;
  /**
   * `gradientOnly`: the point will only be asked for gradients (training, replay), so a layer
   * may skip precomputation that only its R-passes need.
   */
  forward(
    x: tf.Tensor,
    p: readonly tf.Tensor[],
    gradientOnly?: boolean,
  ): { y: tf.Tensor; cache: Cache };
  /**
   * Output only, for inference (logits, accuracy). Optional: layers whose forward builds heavy
   * derivative caches even for gradients give a direct path; others fall back to forward.
   */
  infer?(x: tf.Tensor, p: readonly tf.Tensor[]): tf.Tensor;
  /** Gradients of a scalar given dy = d(scalar)/dy; dp summed over the batch. */
  backward(
    cache: Cache,
    p: readonly tf.Tensor[],
    dy: tf.Tensor,
    needInputGrad: boolean,
  ): { dx: tf.Tensor | null; dp: tf.Tensor[] };
  /**
   * Per-sample parameter gradients, [B, size] per parameter tensor (flattened), for the
   * per-sample cross-entropy gradients the recursion injects.
   */
  perSampleParamGrads(cache: Cache, p: readonly tf.Tensor[], dy: tf.Tensor): tf.Tensor[];
  /** R-forward: tangent of y given the input tangent (null when the input is data). */
  rForward(
    cache: Cache,
    p: readonly tf.Tensor[],
    v: readonly tf.Tensor[],
    xDot: tf.Tensor | null,
    k: number,
  ): tf.Tensor;
  /** R-backward: tangents of dx and of dp given dy and its tangent dyDot. dpDot: [K, ...shape]. */
  rBackward(
    cache: Cache,
    p: readonly tf.Tensor[],
    v: readonly tf.Tensor[],
    dy: tf.Tensor,
    dyDot: tf.Tensor,
    xDot: tf.Tensor | null,
    k: number,
    needInputGrad: boolean,
  ): { dxDot: tf.Tensor | null; dpDot: tf.Tensor[] };
  /**
   * Second-order forward along the same direction (Taylor mode, forward-over-forward):
   * the second derivative yDDot of the output given the input's first and second derivatives
   * (null when the input is data). Parameters are linear in the direction, so their second
   * derivative is zero. Optional: models whose layers lack it have no third-order kernel.
   */
  r2Forward?(
    cache: Cache,
    p: readonly tf.Tensor[],
    v: readonly tf.Tensor[],
    xDot: tf.Tensor | null,
    xDDot: tf.Tensor | null,
    k: number,
  ): tf.Tensor;
  /**
   * Second derivative of the backward pass along the direction: given dy and its first and
   * second derivatives, returns those of dx (when needed) and of dp ([K, ...shape]).
   */
  r2Backward?(
    cache: Cache,
    p: readonly tf.Tensor[],
    v: readonly tf.Tensor[],
    dy: tf.Tensor,
    dyDot: tf.Tensor,
    dyDDot: tf.Tensor,
    xDot: tf.Tensor | null,
    xDDot: tf.Tensor | null,
    k: number,
    needInputGrad: boolean,
  ): { dxDDot: tf.Tensor | null; dpDDot: tf.Tensor[] };
  /** Primal tensors held by the cache (disposed by the model). */
  cacheTensors(cache: Cache): tf.Tensor[];
  /** Floating-point operations of one R-forward + R-backward per tangent vector and sample. */
  hvpFlopsPerSample(needInputGrad: boolean, hasInputTangent: boolean): number;
}
