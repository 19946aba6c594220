import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, useBackend } from '../src/index.js';
import { randomBatch, testBackends, toBatch } from './helpers.js';

describe.each(testBackends())('gradient-only points on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  for (const name of ['logistic', 'cnn']) {
    it(`${name}: same loss and gradients as a full point; Hessian products refused`, () => {
      const model = createModel(name, {
        inputShape: name === 'cnn' ? [28, 28, 1] : [20],
        classes: 10,
      });
      const batch = toBatch(model, randomBatch(model, 4, 3));
      const params = model.init(5);
      const full = model.at(params, batch);
      const lean = model.at(params, batch, { gradientOnly: true });
      expect(lean.loss).toBe(full.loss);
      expect(Array.from(lean.gradient(0.1).dataSync())).toEqual(
        Array.from(full.gradient(0.1).dataSync()),
      );
      expect(Array.from(lean.perSampleGradients().dataSync())).toEqual(
        Array.from(full.perSampleGradients().dataSync()),
      );
      const v = tf.zeros([1, model.d]) as tf.Tensor2D;
      expect(() => lean.hmp(v, 0)).toThrow(/gradientOnly/);
      expect(() => lean.thirdDerivative(v)).toThrow(/gradientOnly/);
      const before = tf.memory().numTensors;
      lean.dispose();
      full.dispose();
      expect(tf.memory().numTensors).toBeLessThan(before);
    });
  }
});
