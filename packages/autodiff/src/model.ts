import { LetheError, Rng } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './layers/layer.js';
import { buildLayout, layoutDigest, type ParamLayout } from './layout.js';
import {
  type CrossEntropyPoint,
  crossEntropy,
  crossEntropyR2op,
  crossEntropyRop,
  crossEntropyTensors,
} from './loss.js';

/** A mini-batch at which the loss, its gradient and Hessian products are evaluated. */
export interface Batch {
  /** Inputs, [B, ...inputShape] or [B, prod(inputShape)]. */
  readonly x: tf.Tensor;
  /** Class labels, [B]. */
  readonly labels: tf.Tensor1D;
  /** Per-sample weights c_i of the loss (default 1). */
  readonly weights?: tf.Tensor1D;
  /** The normaliser N of (1/N) sum_i c_i l_i (default: the batch size). */
  readonly denominator?: number;
}

/**
 * The model linearised at (params, batch): the forward and backward passes are done once and
 * kept, so that many Hessian-matrix products at the same point cost only their R-passes.
 * Tensors returned by the methods belong to the caller; `dispose()` frees the point.
 */
export interface ModelPoint {
  readonly batchSize: number;
  /** The cross-entropy part of the batch objective (weighted mean). */
  readonly loss: number;
  readonly logits: tf.Tensor2D;
  /** Gradient of the batch objective including (l2/2)||w||^2, [d]. */
  gradient(l2: number): tf.Tensor1D;
  /** Per-sample cross-entropy gradients (no weights, no normaliser, no regulariser), [B, d]. */
  perSampleGradients(): tf.Tensor2D;
  /** H V for a block of directions V [K, d], H the Hessian of the batch objective (with l2 I). */
  hmp(v: tf.Tensor2D, l2: number): tf.Tensor2D;
  /**
   * T[v, v] for each row v of the block [K, d]: the third derivative of the batch objective
   * contracted twice with v, i.e. d^2/de^2 grad L(w + e v) at e = 0 (the regulariser adds
   * nothing). Needs every layer to implement the second-order passes.
   */
  thirdDerivative(v: tf.Tensor2D): tf.Tensor2D;
  dispose(): void;
}

export interface Model {
  readonly name: string;
  /** Per-sample input shape (images are HWC). */
  readonly inputShape: readonly number[];
  readonly numClasses: number;
  /** The flat float32 parameter layout; approximators and noise use the same one. */
  readonly layout: ParamLayout;
  /** Number of parameters (layout.size). */
  readonly d: number;
  /** Digest of the architecture and layout (recorded by stores and trajectories). */
  readonly digest: string;
  /** How to rebuild this model by name (set by createModel; worker threads need it). */
  readonly spec?: { readonly name: string; readonly options: Readonly<Record<string, unknown>> };
  /** Seeded initial parameters (fan-in uniform, as PyTorch does). */
  init(seed: number): Float32Array;
  /**
   * Linearises the model at (params, batch). With `{ gradientOnly: true }` (training, replay)
   * layers skip what only Hessian products need; hmp and thirdDerivative then throw.
   */
  at(
    params: tf.Tensor1D | Float32Array,
    batch: Batch,
    options?: { gradientOnly?: boolean },
  ): ModelPoint;
  /** Logits for inputs x, [N, C]. */
  logits(params: tf.Tensor1D | Float32Array, x: tf.Tensor): tf.Tensor2D;
  /** Floating-point operations of one Hessian-vector product per sample of the batch. */
  hvpFlopsPerSample(): number;
}

export interface NamedLayer {
  readonly name: string;
  readonly layer: Layer;
}

/** A model made of layers applied in sequence, ending in logits for softmax cross-entropy. */
export function sequential(name: string, layers: readonly NamedLayer[]): Model {
  if (layers.length === 0)
    throw new LetheError(
      'invalid-argument',
      `Model ${name}: needs at least one layer; pass the layers in order, e.g. [{ name: 'fc', layer: dense(784, 10) }].`,
    );
  const first = layers[0]!.layer;
  const last = layers[layers.length - 1]!.layer;
  if (last.outputShape.length !== 1) {
    throw new LetheError(
      'invalid-argument',
      `Model ${name}: the last layer must output a vector of logits (its outputShape is [${last.outputShape}]); end the model with a dense layer.`,
    );
  }
  const inputShape = first.inputShape;
  const inputSize = inputShape.reduce((a, b) => a * b, 1);
  const numClasses = last.outputShape[0]!;
  const layout = buildLayout(
    layers.flatMap(({ name: ln, layer }) =>
      layer.params.map((p) => ({ name: `${ln}.${p.name}`, shape: p.shape })),
    ),
  );
  const d = layout.size;
  // Index of each layer's first segment.
  const segmentStart: number[] = [];
  let s = 0;
  for (const { layer } of layers) {
    segmentStart.push(s);
    s += layer.params.length;
  }

  const toParams = (params: tf.Tensor1D | Float32Array): tf.Tensor1D => {
    if (params instanceof Float32Array) {
      if (params.length !== d) {
        throw new LetheError(
          'shape-mismatch',
          `Model ${name}: parameter vector has length ${params.length}, expected ${d}; pass weights of this model (model.init, or a run trained with the same architecture, inputShape and classes).`,
        );
      }
      return tf.tensor1d(params);
    }
    if (params.shape[0] !== d) {
      throw new LetheError(
        'shape-mismatch',
        `Model ${name}: parameter tensor has length ${params.shape[0]}, expected ${d}; pass weights of this model (model.init, or a run trained with the same architecture, inputShape and classes).`,
      );
    }
    return params;
  };
  const toInput = (x: tf.Tensor): tf.Tensor => {
    const b = x.shape[0]!;
    if (x.size !== b * inputSize) {
      throw new LetheError(
        'shape-mismatch',
        `Model ${name}: input of shape [${x.shape}] does not hold samples of shape [${inputShape}] (${inputSize} values each); pass [B, ${inputShape}] or [B, ${inputSize}].`,
      );
    }
    return tf.reshape(x, [b, ...inputShape]);
  };
  /** Per-layer parameter tensors in their layout shapes. */
  const splitParams = (flat: tf.Tensor1D): tf.Tensor[][] =>
    layers.map((_, li) =>
      layers[li]!.layer.params.map((_p, pi) => {
        const seg = layout.segments[segmentStart[li]! + pi]!;
        return tf.reshape(tf.slice(flat, [seg.offset], [seg.size]), [...seg.shape]);
      }),
    );
  /** Per-layer parameter directions [K, ...shape]; no copy when the model has one segment. */
  const splitBlock = (v: tf.Tensor2D, k: number): tf.Tensor[][] =>
    layers.map((_, li) =>
      layers[li]!.layer.params.map((_p, pi) => {
        const seg = layout.segments[segmentStart[li]! + pi]!;
        const part = seg.size === d ? v : tf.slice(v, [0, seg.offset], [k, seg.size]);
        return tf.reshape(part, [k, ...seg.shape]);
      }),
    );

  const forward = (p: tf.Tensor[][], x: tf.Tensor, gradientOnly = false) => {
    const caches: unknown[] = [];
    let h = x;
    layers.forEach(({ layer }, li) => {
      const { y, cache } = layer.forward(h, p[li]!, gradientOnly);
      caches.push(cache);
      h = y;
    });
    return { logits: h as tf.Tensor2D, caches };
  };

  return {
    name,
    inputShape,
    numClasses,
    layout,
    d,
    digest: layoutDigest(name, layout),

    init(seed: number): Float32Array {
      if (!Number.isInteger(seed)) {
        throw new LetheError(
          'invalid-argument',
          `Model ${name}.init: seed is ${seed}; pass a whole number (the same seed gives the same weights).`,
        );
      }
      const rng = new Rng(seed);
      const out = new Float32Array(d);
      layers.forEach(({ layer }, li) => {
        if (layer.params.length === 0) return;
        const startSeg = layout.segments[segmentStart[li]!]!;
        const size = layer.params.reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
        layer.init(rng, out.subarray(startSeg.offset, startSeg.offset + size));
      });
      return out;
    },

    logits(params, x) {
      // Inference only: a layer's direct path where it has one, else its forward without the
      // Hessian-product caches (the CNN's are ~1.8 MB per sample, never used here).
      return tf.tidy(() => {
        const p = splitParams(toParams(params));
        let h = toInput(x);
        layers.forEach(({ layer }, li) => {
          h = layer.infer ? layer.infer(h, p[li]!) : layer.forward(h, p[li]!, true).y;
        });
        return h as tf.Tensor2D;
      });
    },

    hvpFlopsPerSample() {
      return layers.reduce(
        (acc, { layer }, li) => acc + layer.hvpFlopsPerSample(li > 0, li > 0),
        0,
      );
    },

    at(params, batch, options = {}) {
      const gradientOnly = options.gradientOnly ?? false;
      const needsHessian = (what: string) => {
        if (gradientOnly) {
          throw new LetheError(
            'invalid-argument',
            `Model ${name}: ${what} needs a point made without { gradientOnly: true }.`,
          );
        }
      };
      const b = batch.x.shape[0]!;
      if (batch.labels.shape[0] !== b) {
        throw new LetheError(
          'shape-mismatch',
          `Model ${name}: ${batch.labels.shape[0]} labels for ${b} inputs; pass one label per input.`,
        );
      }
      const ownsParams = params instanceof Float32Array;
      const flat = toParams(params);
      const denominator = batch.denominator ?? b;
      const held: tf.Tensor[] = [];
      const keep = <T extends tf.Tensor>(t: T): T => {
        held.push(tf.keep(t));
        return t;
      };
      let point!: CrossEntropyPoint;
      let caches!: unknown[];
      let p!: tf.Tensor[][];
      let logits!: tf.Tensor2D;
      /** d(loss)/d(output of layer i), and the summed parameter gradients. */
      const dys: tf.Tensor[] = [];
      const grads: tf.Tensor[][] = [];
      tf.tidy(() => {
        p = splitParams(flat).map((ts) => ts.map(keep));
        const f = forward(p, toInput(batch.x), gradientOnly);
        caches = f.caches;
        logits = keep(f.logits);
        layers.forEach(({ layer }, li) => {
          for (const t of layer.cacheTensors(caches[li])) keep(t);
        });
        point = crossEntropy(logits, batch.labels, batch.weights ?? null, denominator);
        for (const t of crossEntropyTensors(point)) keep(t);
        let dy: tf.Tensor = point.dLogits;
        for (let li = layers.length - 1; li >= 0; li--) {
          dys[li] = dy;
          const { dx, dp } = layers[li]!.layer.backward(caches[li], p[li]!, dy, li > 0);
          grads[li] = dp.map(keep);
          if (dx) dy = keep(dx);
        }
      });

      return {
        batchSize: b,
        loss: point.loss,
        logits,

        gradient(l2) {
          return tf.tidy(() => {
            const g = tf.concat(grads.flat().map((t) => tf.reshape(t, [-1])));
            return (l2 === 0 ? g : tf.add(g, tf.mul(flat, l2))) as tf.Tensor1D;
          });
        },

        perSampleGradients() {
          return tf.tidy(() => {
            const parts: tf.Tensor[][] = [];
            let dy: tf.Tensor = point.residual;
            for (let li = layers.length - 1; li >= 0; li--) {
              const { layer } = layers[li]!;
              parts[li] = layer.perSampleParamGrads(caches[li], p[li]!, dy);
              if (li > 0) dy = layer.backward(caches[li], p[li]!, dy, true).dx!;
            }
            return tf.concat(parts.flat(), 1) as tf.Tensor2D;
          });
        },

        hmp(v, l2) {
          needsHessian('hmp');
          const k = v.shape[0];
          if (v.shape[1] !== d) {
            throw new LetheError(
              'shape-mismatch',
              `Model ${name}: direction block has ${v.shape[1]} columns, expected d = ${d}; pass [K, d], one direction per row.`,
            );
          }
          return tf.tidy(() => {
            const vs = splitBlock(v, k);
            const xDots: (tf.Tensor | null)[] = [];
            let xDot: tf.Tensor | null = null;
            layers.forEach(({ layer }, li) => {
              xDots[li] = xDot;
              xDot = layer.rForward(caches[li], p[li]!, vs[li]!, xDot, k);
            });
            let dyDot = crossEntropyRop(point, xDot!, k);
            const parts: tf.Tensor[][] = [];
            for (let li = layers.length - 1; li >= 0; li--) {
              const { dxDot, dpDot } = layers[li]!.layer.rBackward(
                caches[li],
                p[li]!,
                vs[li]!,
                dys[li]!,
                dyDot,
                xDots[li]!,
                k,
                li > 0,
              );
              parts[li] = dpDot.map((t) => tf.reshape(t, [k, -1]));
              if (dxDot) dyDot = dxDot;
            }
            const flatParts = parts.flat();
            const hv = flatParts.length === 1 ? flatParts[0]! : tf.concat(flatParts, 1);
            return (l2 === 0 ? hv : tf.add(hv, tf.mul(v, l2))) as tf.Tensor2D;
          });
        },

        thirdDerivative(v) {
          needsHessian('thirdDerivative');
          const k = v.shape[0];
          if (v.shape[1] !== d) {
            throw new LetheError(
              'shape-mismatch',
              `Model ${name}: direction block has ${v.shape[1]} columns, expected d = ${d}; pass [K, d], one direction per row.`,
            );
          }
          for (const { name: ln, layer } of layers) {
            if (!layer.r2Forward || !layer.r2Backward) {
              throw new LetheError(
                'unsupported',
                `Model ${name}: layer ${ln} (${layer.kind}) has no second-order passes, so the third-derivative kernel (second-order unlearning) is unavailable for this model; use first-order unlearning, or layers with r2Forward and r2Backward.`,
              );
            }
          }
          return tf.tidy(() => {
            const vs = splitBlock(v, k);
            // Forward: first and second derivatives of every layer's input along v.
            const xDots: (tf.Tensor | null)[] = [];
            const xDDots: (tf.Tensor | null)[] = [];
            let xDot: tf.Tensor | null = null;
            let xDDot: tf.Tensor | null = null;
            layers.forEach(({ layer }, li) => {
              xDots[li] = xDot;
              xDDots[li] = xDDot;
              const yDot = layer.rForward(caches[li], p[li]!, vs[li]!, xDot, k);
              xDDot = layer.r2Forward!(caches[li], p[li]!, vs[li]!, xDot, xDDot, k);
              xDot = yDot;
            });
            let dyDot = crossEntropyRop(point, xDot!, k);
            let dyDDot = crossEntropyR2op(point, xDot!, xDDot!, k);
            const parts: tf.Tensor[][] = [];
            for (let li = layers.length - 1; li >= 0; li--) {
              const { layer } = layers[li]!;
              const args = [caches[li], p[li]!, vs[li]!, dys[li]!] as const;
              const second = layer.r2Backward!(
                ...args,
                dyDot,
                dyDDot,
                xDots[li]!,
                xDDots[li]!,
                k,
                li > 0,
              );
              parts[li] = second.dpDDot.map((t) => tf.reshape(t, [k, -1]));
              if (li > 0) {
                dyDot = layer.rBackward(...args, dyDot, xDots[li]!, k, true).dxDot!;
                dyDDot = second.dxDDot!;
              }
            }
            const flatParts = parts.flat();
            return (
              flatParts.length === 1 ? flatParts[0]! : tf.concat(flatParts, 1)
            ) as tf.Tensor2D;
          });
        },

        dispose() {
          for (const t of held) t.dispose();
          held.length = 0;
          if (ownsParams) flat.dispose();
        },
      };
    },
  };
}
