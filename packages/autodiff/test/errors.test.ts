import { isLetheError } from '@lethe/core';
import { thrown } from '@lethe/vitest-config/errors';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  clipState,
  cnn,
  conv2d,
  createModel,
  dense,
  lenet,
  logisticRegression,
  maxPool2d,
  mlp,
  predictLogits,
  relu,
  sequential,
  useBackend,
} from '../src/index.js';

describe('errors', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('createModel refuses shapes and class counts that are not whole numbers >= 1', () => {
    for (const [options, pattern] of [
      [
        { inputShape: [10.5], classes: 3 },
        /inputShape\[0\] is 10.5; it must be a whole number >= 1/,
      ],
      [{ inputShape: [-9], classes: 3 }, /inputShape\[0\] is -9/],
      [{ inputShape: [0], classes: 3 }, /inputShape\[0\] is 0/],
      [{ inputShape: [4], classes: Number.NaN }, /classes is NaN; it must be a whole number >= 2/],
      [{ inputShape: [4], classes: 2.5 }, /classes is 2.5/],
      [{ inputShape: [4], classes: 3, hidden: 0 }, /hidden is 0/],
      [{ inputShape: [], classes: 3 }, /inputShape must be a non-empty array/],
    ] as const) {
      const err = thrown(() => createModel('mlp', options));
      expect(isLetheError(err, 'invalid-argument')).toBe(true);
      expect(err.message).toMatch(pattern);
    }
    const unknown = thrown(() => createModel('resnet-1000'));
    expect(isLetheError(unknown, 'invalid-argument')).toBe(true);
    expect(unknown.message).toMatch(
      /registered models are logistic, mlp, cnn, lenet, resnet; register it first/,
    );
  });

  it('the model factories and layers refuse fractional, negative, zero or NaN sizes', () => {
    for (const [make, pattern] of [
      [
        () => logisticRegression({ inputs: 10.5 }),
        /logisticRegression: inputs is 10.5; it must be a whole number >= 1/,
      ],
      [
        () => logisticRegression({ inputs: 4, classes: 1 }),
        /classes is 1; it must be a whole number >= 2/,
      ],
      [
        () => mlp({ inputs: 4, hidden: Number.NaN }),
        /mlp: hidden is NaN; it must be a whole number >= 1/,
      ],
      [() => mlp({ inputs: -9 }), /mlp: inputs is -9/],
      [() => cnn({ classes: 0 }), /cnn: classes is 0; it must be a whole number >= 2/],
      [() => lenet({ inputShape: [28, 28.5, 1] }), /of whole numbers >= 1 .* got \[28,28.5,1\]/],
      [() => dense(4, 2.5), /dense: outputs is 2.5; it must be a whole number >= 1/],
      [() => dense(4, 2, [2, 3]), /pass inputs = 6/],
      [() => relu([Number.NaN]), /relu: shape\[0\] is NaN; it must be a whole number >= 1/],
      [
        () => conv2d({ inChannels: 1, outChannels: 2, kernel: 3, inputShape: [7.5, 8, 1] }),
        /inputShape must be \[H, W, 1\] \(HWC with inChannels channels, whole numbers >= 1\)/,
      ],
      [() => maxPool2d(2, [1, 4, 1]), /smaller than one 2x2 window; pool maps of at least 2x2/],
    ] as const) {
      const err = thrown(make);
      expect(isLetheError(err, 'invalid-argument')).toBe(true);
      expect(err.message).toMatch(pattern);
    }
    expect(thrown(() => sequential('empty', [])).message).toMatch(/pass the layers in order/);
    expect(
      thrown(() => sequential('hidden-last', [{ name: 'r', layer: relu([2, 2]) }])).message,
    ).toMatch(/end the model with a dense layer/);
  });

  it('model.init refuses a seed that is not a whole number', () => {
    const model = createModel('logistic', { inputShape: [4], classes: 3 });
    for (const seed of [Number.NaN, 1.5]) {
      const err = thrown(() => model.init(seed));
      expect(isLetheError(err, 'invalid-argument')).toBe(true);
      expect(err.message).toMatch(/Model logistic.init: seed is .*; pass a whole number/);
    }
  });

  it('predictLogits refuses inputs of the wrong size, NaN weights and NaN inputs', () => {
    const model = createModel('logistic', { inputShape: [4], classes: 3 });
    const weights = model.init(1);
    const size = thrown(() => predictLogits(model, weights, new Float32Array(7), 2));
    expect(isLetheError(size, 'shape-mismatch')).toBe(true);
    expect(size.message).toMatch(
      /x has 7 values, expected n \* 4 = 8 .*pass n samples of shape \[4\]/,
    );

    const short = thrown(() => predictLogits(model, weights.subarray(1), new Float32Array(8), 2));
    expect(isLetheError(short, 'shape-mismatch')).toBe(true);
    expect(short.message).toMatch(
      /weights have 14 values but model logistic has d = 15; pass weights of this model/,
    );

    const nanWeights = Float32Array.from(weights);
    nanWeights[3] = Number.NaN;
    const w = thrown(() => predictLogits(model, nanWeights, new Float32Array(8), 2));
    expect(isLetheError(w, 'non-finite')).toBe(true);
    expect(w.message).toMatch(/weights\[3\] is NaN; pass finite weights/);

    const x = new Float32Array(8);
    x[5] = Number.POSITIVE_INFINITY;
    const input = thrown(() => predictLogits(model, weights, x, 2));
    expect(isLetheError(input, 'non-finite')).toBe(true);
    expect(input.message).toMatch(/x\[5\] is Infinity; .*clean or impute/);

    const n = thrown(() => predictLogits(model, weights, new Float32Array(8), 2.5));
    expect(isLetheError(n, 'invalid-argument')).toBe(true);
    expect(n.message).toMatch(/n is 2.5; pass the number of samples/);
  });

  it('Model.at refuses labels that do not match the inputs', () => {
    const model = createModel('logistic', { inputShape: [4], classes: 3 });
    const err = thrown(() =>
      model.at(model.init(1), { x: tf.zeros([2, 4]), labels: tf.tensor1d([0, 1, 2], 'int32') }),
    );
    expect(isLetheError(err, 'shape-mismatch')).toBe(true);
    expect(err.message).toMatch(/3 labels for 2 inputs; pass one label per input/);
  });

  it('clipping refuses a bad threshold and a non-finite gradient norm', () => {
    const threshold = thrown(() => clipState(1, 0));
    expect(isLetheError(threshold, 'invalid-argument')).toBe(true);
    expect(threshold.message).toMatch(/pass the clipping norm of the run/);
    const norm = thrown(() => clipState(Number.NaN, 1));
    expect(isLetheError(norm, 'non-finite')).toBe(true);
    expect(norm.message).toMatch(/training diverged; lower the learning rate/);
  });
});
