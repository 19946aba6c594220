import * as tf from '@tensorflow/tfjs-core';

/**
 * Replacements for tfjs-backend-wasm kernels that are needlessly slow for Lethe's shapes.
 *
 * Slice: the stock kernel reads its input with `readSync`, which copies the *whole* input tensor
 * out of the wasm heap on every call: slicing one layer's columns out of a [256, 50890] block of
 * directions cost ~180 ms. This version reads the input through a view of the heap (as the
 * stock Concat kernel does), so a slice costs what it copies.
 */
interface WasmTensorInfo {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): WasmTensorInfo;
  typedArrayFromHeap(t: WasmTensorInfo): Float32Array | Int32Array | Uint8Array;
}

let patched = false;

export function patchWasmKernels(): void {
  if (patched) return;
  const stock = tf.getKernel('Slice', 'wasm');
  if (!stock) return;
  tf.unregisterKernel('Slice', 'wasm');
  tf.registerKernel({
    kernelName: 'Slice',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const x = args.inputs.x as unknown as WasmTensorInfo;
      const backend = args.backend as unknown as WasmBackendLike;
      const rank = x.shape.length;
      if (x.dtype === 'string' || rank < 1 || rank > 4) return stock.kernelFunc(args);
      const attrs = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
      const [begin, size] = tf.slice_util.parseSliceParams(
        x as unknown as tf.TensorInfo,
        attrs.begin,
        attrs.size,
      ) as [number[], number[]];
      // Allocate first: growing the heap detaches views taken before.
      const out = backend.makeOutput(size, x.dtype);
      const src = backend.typedArrayFromHeap(x);
      const dst = backend.typedArrayFromHeap(out);
      copySlice(src, x.shape, begin, size, dst);
      return out as unknown as tf.TensorInfo;
    },
  });
  patched = true;
}

/** Copies the box [begin, begin + size) of a row-major array of `shape` into `dst`. */
export function copySlice(
  src: { subarray(a: number, b: number): ArrayLike<number> },
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  dst: { set(v: ArrayLike<number>, offset: number): void },
): void {
  const rank = shape.length;
  const strides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  // Copy contiguous runs along the last axis; iterate over the others with an odometer.
  const run = size[rank - 1]!;
  const outer = size.slice(0, -1).reduce((a, b) => a * b, 1);
  const index = new Array<number>(Math.max(0, rank - 1)).fill(0);
  for (let o = 0; o < outer; o++) {
    let offset = begin[rank - 1]!;
    for (let a = 0; a < rank - 1; a++) offset += (begin[a]! + index[a]!) * strides[a]!;
    dst.set(src.subarray(offset, offset + run), o * run);
    for (let a = rank - 2; a >= 0; a--) {
      if (++index[a]! < size[a]!) break;
      index[a] = 0;
    }
  }
}
