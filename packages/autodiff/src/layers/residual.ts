import type { Rng } from '@lethe/core';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Layer } from './layer.js';

/** A named layer inside a residual block (the block prefixes parameter names with it). */
export interface BlockLayer {
  readonly name: string;
  readonly layer: Layer;
}

interface Path {
  readonly layers: readonly BlockLayer[];
  /** Index of each layer's first parameter tensor in the block's parameter list. */
  readonly first: readonly number[];
}

interface ResidualCache {
  batch: number;
  /** Inner caches by layer name (objects, so that tests can walk them for activation masks). */
  main: Record<string, unknown>;
  shortcut: Record<string, unknown>;
}

type Tensors = readonly tf.Tensor[];

const own = (path: Path, i: number, all: Tensors): tf.Tensor[] =>
  all.slice(path.first[i]!, path.first[i]! + path.layers[i]!.layer.params.length);

function forwardPath(path: Path, x: tf.Tensor, p: Tensors, gradientOnly: boolean | undefined) {
  const caches: Record<string, unknown> = {};
  let h = x;
  path.layers.forEach(({ name, layer }, i) => {
    const { y, cache } = layer.forward(h, own(path, i, p), gradientOnly);
    caches[name] = cache;
    h = y;
  });
  return { y: h, caches };
}

/** Backward through a path: the input gradient (when asked), parameter gradients, and the
 * gradient at each layer's output (what its R-backward needs). */
function backwardPath(
  path: Path,
  caches: Record<string, unknown>,
  p: Tensors,
  dy: tf.Tensor,
  needInputGrad: boolean,
) {
  const dys: tf.Tensor[] = [];
  const dp: tf.Tensor[][] = [];
  let g: tf.Tensor | null = dy;
  for (let i = path.layers.length - 1; i >= 0; i--) {
    const { name, layer } = path.layers[i]!;
    dys[i] = g!;
    const r = layer.backward(caches[name], own(path, i, p), g!, i > 0 || needInputGrad);
    dp[i] = r.dp;
    g = r.dx;
  }
  return { dx: needInputGrad ? g : null, dp: dp.flat(), dys };
}

function rForwardPath(
  path: Path,
  caches: Record<string, unknown>,
  p: Tensors,
  v: Tensors,
  xDot: tf.Tensor | null,
  k: number,
) {
  const xDots: (tf.Tensor | null)[] = [];
  let t = xDot;
  path.layers.forEach(({ name, layer }, i) => {
    xDots[i] = t;
    t = layer.rForward(caches[name], own(path, i, p), own(path, i, v), t, k);
  });
  return { yDot: t, xDots };
}

/**
 * y = main(x) + shortcut(x), the shortcut being the identity when it has no layers: the basic
 * block of a ResNet (its final ReLU is a separate layer after the block). Every pass is the sum of
 * the two paths' passes, each path a small sequential model of existing layers.
 *
 * Layout: the main path's parameter tensors in order, then the shortcut's, each named
 * "<layer>.<param>" (the shortcut's "shortcut.<layer>.<param>").
 *
 * The R-backward needs the gradient and the input tangent at every inner layer; rather than keep
 * them between calls, it recomputes them (one backward pass over the batch and the block's
 * R-forward), which costs about a third more than a layer-by-layer model would.
 */
export function residual(
  main: readonly BlockLayer[],
  shortcut: readonly BlockLayer[] = [],
): Layer<ResidualCache> {
  if (main.length === 0) {
    throw new LetheError(
      'invalid-argument',
      'residual: the main path needs at least one layer, e.g. [conv2d, batchNorm, relu, conv2d, batchNorm].',
    );
  }
  const inputShape = main[0]!.layer.inputShape;
  const outputShape = main[main.length - 1]!.layer.outputShape;
  const shortIn = shortcut.length > 0 ? shortcut[0]!.layer.inputShape : inputShape;
  const shortOut =
    shortcut.length > 0 ? shortcut[shortcut.length - 1]!.layer.outputShape : inputShape;
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((t, i) => t === b[i]);
  if (!same(shortIn, inputShape) || !same(shortOut, outputShape)) {
    throw new LetheError(
      'invalid-argument',
      `residual: the shortcut maps [${shortIn}] to [${shortOut}] but the main path maps [${inputShape}] to [${outputShape}]; give the shortcut a projection (e.g. subsample2d, 1x1 conv2d, batchNorm) with the main path's shapes.`,
    );
  }
  for (const path of [main, shortcut]) {
    const names = path.map((l) => l.name);
    if (new Set(names).size !== names.length || names.includes('shortcut')) {
      throw new LetheError(
        'invalid-argument',
        `residual: layer names within a path must be distinct and not "shortcut", got ${names.join(', ')}.`,
      );
    }
  }
  const makePath = (layers: readonly BlockLayer[], start: number): Path => {
    const first: number[] = [];
    let n = start;
    for (const { layer } of layers) {
      first.push(n);
      n += layer.params.length;
    }
    return { layers, first };
  };
  const mainPath = makePath(main, 0);
  const mainCount = main.reduce((a, l) => a + l.layer.params.length, 0);
  const shortPath = makePath(shortcut, mainCount);
  const params = [
    ...main.flatMap(({ name, layer }) =>
      layer.params.map((q) => ({ name: `${name}.${q.name}`, shape: q.shape })),
    ),
    ...shortcut.flatMap(({ name, layer }) =>
      layer.params.map((q) => ({ name: `shortcut.${name}.${q.name}`, shape: q.shape })),
    ),
  ];
  const identity = shortcut.length === 0;
  const sizeOf = (layer: Layer) =>
    layer.params.reduce((a, q) => a + q.shape.reduce((x, y) => x * y, 1), 0);
  const outSize = outputShape.reduce((a, b) => a * b, 1);

  return {
    kind: 'residual',
    inputShape,
    outputShape,
    params,

    init(rng: Rng, out: Float32Array): void {
      let o = 0;
      for (const { layer } of [...main, ...shortcut]) {
        const n = sizeOf(layer);
        layer.init(rng, out.subarray(o, o + n));
        o += n;
      }
    },

    forward(x, p, gradientOnly) {
      const batch = x.shape[0]!;
      const m = forwardPath(mainPath, x, p, gradientOnly);
      const s = identity ? null : forwardPath(shortPath, x, p, gradientOnly);
      // Reshaped so that the identity shortcut adds the input in the block's output shape.
      const y = tf.add(m.y, tf.reshape(s ? s.y : x, m.y.shape));
      return { y, cache: { batch, main: m.caches, shortcut: s ? s.caches : {} } };
    },

    backward(c, p, dy, needInputGrad) {
      const out = tf.tidy(() => {
        const m = backwardPath(mainPath, c.main, p, dy, needInputGrad);
        const s = identity ? null : backwardPath(shortPath, c.shortcut, p, dy, needInputGrad);
        const dp = [...m.dp, ...(s ? s.dp : [])];
        if (!needInputGrad) return dp;
        return [...dp, tf.add(m.dx!, tf.reshape(s ? s.dx! : dy, m.dx!.shape))];
      });
      return needInputGrad
        ? { dx: out[out.length - 1]!, dp: out.slice(0, -1) }
        : { dx: null, dp: out };
    },

    perSampleParamGrads(c, p, dy) {
      return tf.tidy(() => {
        const perPath = (path: Path, caches: Record<string, unknown>) => {
          const parts: tf.Tensor[][] = [];
          let g = dy;
          for (let i = path.layers.length - 1; i >= 0; i--) {
            const { name, layer } = path.layers[i]!;
            parts[i] = layer.perSampleParamGrads(caches[name], own(path, i, p), g);
            if (i > 0) g = layer.backward(caches[name], own(path, i, p), g, true).dx!;
          }
          return parts.flat();
        };
        return [...perPath(mainPath, c.main), ...(identity ? [] : perPath(shortPath, c.shortcut))];
      });
    },

    rForward(c, p, v, xDot, k) {
      return tf.tidy(() => {
        const m = rForwardPath(mainPath, c.main, p, v, xDot, k).yDot!;
        const s = identity ? xDot : rForwardPath(shortPath, c.shortcut, p, v, xDot, k).yDot;
        return s ? tf.add(m, tf.reshape(s, m.shape)) : m;
      });
    },

    rBackward(c, p, v, dy, dyDot, xDot, k, needInputGrad) {
      const out = tf.tidy(() => {
        const pass = (path: Path, caches: Record<string, unknown>) => {
          const { dys } = backwardPath(path, caches, p, dy, false);
          const { xDots } = rForwardPath(path, caches, p, v, xDot, k);
          const dpDot: tf.Tensor[][] = [];
          let g: tf.Tensor | null = dyDot;
          for (let i = path.layers.length - 1; i >= 0; i--) {
            const { name, layer } = path.layers[i]!;
            const r = layer.rBackward(
              caches[name],
              own(path, i, p),
              own(path, i, v),
              dys[i]!,
              g!,
              xDots[i]!,
              k,
              i > 0 || needInputGrad,
            );
            dpDot[i] = r.dpDot;
            g = r.dxDot;
          }
          return { dxDot: g, dpDot: dpDot.flat() };
        };
        const m = pass(mainPath, c.main);
        const s = identity ? null : pass(shortPath, c.shortcut);
        const dpDot = [...m.dpDot, ...(s ? s.dpDot : [])];
        if (!needInputGrad) return dpDot;
        const dxDot = tf.add(m.dxDot!, tf.reshape(s ? s.dxDot! : dyDot, m.dxDot!.shape));
        return [...dpDot, dxDot];
      });
      return needInputGrad
        ? { dxDot: out[out.length - 1]!, dpDot: out.slice(0, -1) }
        : { dxDot: null, dpDot: out };
    },

    cacheTensors(c) {
      const of = (path: Path, caches: Record<string, unknown>) =>
        path.layers.flatMap(({ name, layer }) => layer.cacheTensors(caches[name]));
      return [...of(mainPath, c.main), ...of(shortPath, c.shortcut)];
    },

    hvpFlopsPerSample(needInputGrad, hasInputTangent) {
      const of = (path: Path) =>
        path.layers.reduce(
          (acc, { layer }, i) =>
            acc + layer.hvpFlopsPerSample(i > 0 || needInputGrad, i > 0 || hasInputTangent),
          0,
        );
      // The sums of the two paths' output tangents and (when needed) input-gradient tangents;
      // the recomputation in the R-backward is not counted (useful work only).
      return (
        of(mainPath) +
        of(shortPath) +
        outSize +
        (needInputGrad ? inputShape.reduce((a, b) => a * b, 1) : 0)
      );
    },
  };
}
