import * as tf from '@tensorflow/tfjs-core';
import type { NamedLayer } from '../src/index.js';

/**
 * The activation pattern of a piecewise-linear network at (params, x): every ReLU mask and every
 * max-pool routing, concatenated. Where the patterns at w - h v, w and w + h v agree, the network
 * is one smooth piece along the segment (barring a pre-activation that leaves and re-enters a
 * piece within it, which needs a curvature of order |z| / h^2), so central differences with step
 * h measure the derivatives the R-operator computes.
 */
export function activationPattern(
  layers: readonly NamedLayer[],
  params: Float32Array,
  x: tf.Tensor,
): Uint8Array {
  return tf.tidy(() => {
    let offset = 0;
    let h = x;
    const parts: Uint8Array[] = [];
    for (const { layer } of layers) {
      const p = layer.params.map((spec) => {
        const size = spec.shape.reduce((a, b) => a * b, 1);
        const t = tf.tensor(params.subarray(offset, offset + size), [...spec.shape]);
        offset += size;
        return t;
      });
      const { y, cache } = layer.forward(h, p);
      collect(cache, parts);
      h = y;
    }
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  });
}

/** Every ReLU mask ("mask") and pooling routing ("route") in a cache, nested caches included. */
function collect(cache: unknown, parts: Uint8Array[]): void {
  if (cache === null || typeof cache !== 'object' || cache instanceof tf.Tensor) return;
  for (const [key, value] of Object.entries(cache)) {
    if ((key === 'mask' || key === 'route') && value instanceof tf.Tensor) {
      parts.push(Uint8Array.from(value.dataSync()));
    } else if (!Array.isArray(value)) {
      collect(value, parts);
    }
  }
}

export function countDifferences(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** True when the activation pattern is the same at w - h v, w and w + h v. */
export function noKinkCrossed(
  layers: readonly NamedLayer[],
  params: Float32Array,
  x: tf.Tensor,
  v: Float32Array,
  h: number,
): boolean {
  const base = activationPattern(layers, params, x);
  for (const sign of [1, -1]) {
    const moved = params.map((w, i) => w + sign * h * v[i]!);
    if (countDifferences(base, activationPattern(layers, moved, x)) !== 0) return false;
  }
  return true;
}
