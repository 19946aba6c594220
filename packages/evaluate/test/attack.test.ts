import { Rng } from '@lethe/core';
import { describe, expect, it } from 'vitest';
import { attackMetrics, type Matrix, trainAttack } from '../src/index.js';

/** Two Gaussian classes in `cols` dimensions; `separable` picks a linear or a ring boundary. */
function data(rows: number, cols: number, seed: number, boundary: 'linear' | 'ring') {
  const rng = new Rng(seed);
  const x = new Float64Array(rows * cols);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let r2 = 0;
    for (let c = 0; c < cols; c++) {
      const v = rng.normal();
      x[i * cols + c] = v;
      r2 += v * v;
    }
    y[i] =
      boundary === 'linear'
        ? x[i * cols]! + 0.5 * x[i * cols + 1]! > 0
          ? 1
          : 0
        : r2 < cols
          ? 1
          : 0;
  }
  return { m: { rows, cols, data: x } satisfies Matrix, y };
}

describe('trainAttack', () => {
  it('logistic regression learns a linear rule and generalises to held-out rows', () => {
    const train = data(400, 4, 1, 'linear');
    const test = data(400, 4, 2, 'linear');
    const model = trainAttack(train.m, train.y, { classifier: 'logistic', seed: 0 });
    expect(attackMetrics(model.score(test.m), test.y).auc).toBeGreaterThan(0.98);
  });

  it('the MLP learns a ring that logistic regression cannot', () => {
    const train = data(600, 2, 3, 'ring');
    const test = data(600, 2, 4, 'ring');
    const mlp = trainAttack(train.m, train.y, { classifier: 'mlp', seed: 5, epochs: 800 });
    const lr = trainAttack(train.m, train.y, { classifier: 'logistic', seed: 5 });
    expect(attackMetrics(mlp.score(test.m), test.y).auc).toBeGreaterThan(0.95);
    expect(Math.abs(attackMetrics(lr.score(test.m), test.y).auc - 0.5)).toBeLessThan(0.1);
  });

  it('is deterministic for a seed, and the seed matters for the MLP', () => {
    const { m, y } = data(200, 3, 6, 'ring');
    const a = trainAttack(m, y, { classifier: 'mlp', seed: 1, epochs: 50 }).score(m);
    const b = trainAttack(m, y, { classifier: 'mlp', seed: 1, epochs: 50 }).score(m);
    const c = trainAttack(m, y, { classifier: 'mlp', seed: 2, epochs: 50 }).score(m);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  it('refuses bad input with the fix in the message', () => {
    const { m, y } = data(20, 2, 7, 'linear');
    expect(() => trainAttack(m, y.subarray(0, 10), { classifier: 'logistic', seed: 0 })).toThrow(
      /features \(rows\) has 20 entries but labels has 10/,
    );
    expect(() => trainAttack(m, new Int32Array(20), { classifier: 'logistic', seed: 0 })).toThrow(
      /only non-members/,
    );
    const nan = { ...m, data: Float64Array.from(m.data, (v, i) => (i === 5 ? Number.NaN : v)) };
    expect(() => trainAttack(nan, y, { classifier: 'logistic', seed: 0 })).toThrow(
      /row 2, column 1 is NaN/,
    );
    expect(() => trainAttack(m, y, { classifier: 'forest' as never, seed: 0 })).toThrow(
      /'logistic' or 'mlp'/,
    );
    const model = trainAttack(m, y, { classifier: 'logistic', seed: 0, epochs: 5 });
    expect(() => model.score({ rows: 1, cols: 3, data: new Float64Array(3) })).toThrow(
      /3 columns but the attack was trained on 2/,
    );
  });
});
