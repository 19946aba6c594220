import { Rng } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../src/index.js';
import { testBackends } from './helpers.js';

// Lethe replaces the wasm backend's Slice kernel (the stock one copies the whole input per call).
describe.runIf(testBackends().includes('wasm'))('wasm Slice replacement', () => {
  it('slices 1-D to 4-D tensors exactly like index arithmetic', async () => {
    await useBackend('wasm');
    const rng = new Rng(3);
    for (const shape of [[17], [5, 9], [4, 3, 7], [3, 4, 5, 6]]) {
      const size = shape.reduce((a, b) => a * b, 1);
      const values = Float32Array.from({ length: size }, () => rng.normal());
      const x = tf.tensor(values, shape);
      for (let trial = 0; trial < 5; trial++) {
        const begin = shape.map((s) => rng.nextInt(s));
        const extent = shape.map((s, i) => 1 + rng.nextInt(s - begin[i]!));
        const got = tf.slice(x, begin, extent).dataSync();
        // expected by explicit index arithmetic
        const expected: number[] = [];
        const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
        const walk = (axis: number, offset: number) => {
          if (axis === shape.length) {
            expected.push(values[offset]!);
            return;
          }
          for (let j = 0; j < extent[axis]!; j++)
            walk(axis + 1, offset + (begin[axis]! + j) * strides[axis]!);
        };
        walk(0, 0);
        expect(Array.from(got)).toEqual(expected);
      }
      x.dispose();
    }
    // int32 and a 5-D tensor (delegated to the stock kernel) still work
    const ints = tf.tensor1d([1, 2, 3, 4], 'int32');
    expect(Array.from(tf.slice(ints, [1], [2]).dataSync())).toEqual([2, 3]);
    const five = tf.reshape(tf.range(0, 32), [2, 2, 2, 2, 2]);
    expect(Array.from(tf.slice(five, [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]).dataSync())).toEqual([17]);
  });
});
