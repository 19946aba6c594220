import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  powerDividedDifference,
  powerSecondDividedDifference,
} from '../src/divided-differences.js';
import {
  type PaperSensitivityParams,
  paperSensitivity,
  paperStepCounts,
  sensitivityValue,
  withDeletions,
} from '../src/index.js';

const references: (PaperSensitivityParams & { expected: number })[] = JSON.parse(
  readFileSync(new URL('./fixtures/paper-sensitivity.json', import.meta.url), 'utf8'),
);

const relErr = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

// The paper's logistic MNIST setting: n = 1000, E = 15, |B| = 32.
const logistic: PaperSensitivityParams = {
  eta: 0.05,
  q: 0.995,
  C: 5,
  rho: 0.99,
  T: 500,
  B: 32,
  batchSize: 32,
  m: 50,
};

/** The formula exactly as printed, in double precision; fine away from its singular points. */
function naive(p: PaperSensitivityParams): number {
  const { eta, q, C: G, rho, T, B, batchSize, m } = p;
  return (
    2 *
      eta ** 2 *
      G *
      (1 - q) *
      ((rho ** T - q ** T) / (rho - q) - (rho ** T - q ** (2 * T)) / (rho - q ** 2)) +
    (((2 * eta * G * m) / batchSize) * ((rho ** T - q ** T) * rho ** B * q ** B)) /
      (rho ** B - q ** B)
  );
}

describe('paperSensitivity', () => {
  it('matches 120-digit evaluations at and near every singular point', () => {
    expect(references.length).toBe(31);
    for (const ref of references) {
      const got = paperSensitivity(ref);
      if (ref.expected === 0) expect(got).toBe(0);
      else expect(relErr(got, ref.expected)).toBeLessThan(1e-13);
    }
  });

  it('agrees with the printed formula where that formula is well conditioned', () => {
    for (const rho of [0.9, 0.95, 1.01, 1.05]) {
      for (const m of [0, 1, 300]) {
        const p = { ...logistic, rho, m };
        expect(relErr(paperSensitivity(p), naive(p))).toBeLessThan(1e-11);
      }
    }
  });

  it('shows why the limits matter: the printed formula breaks down near rho = q', () => {
    const p = { ...logistic, rho: logistic.q * (1 + 1e-13) };
    const exact = references.find((r) => r.rho === logistic.q && r.T === 500 && r.m === 50)!;
    expect(relErr(paperSensitivity(p), exact.expected)).toBeLessThan(1e-9);
    expect(relErr(naive(p), exact.expected)).toBeGreaterThan(1e-6);
    expect(Number.isNaN(naive({ ...logistic, rho: logistic.q }))).toBe(true);
  });

  it.each([
    ['rho = q', (e: number) => ({ rho: 0.995 * (1 + e) })],
    ['rho = q^2', (e: number) => ({ rho: 0.995 * 0.995 * (1 + e) })],
    ['rho = 1', (e: number) => ({ rho: 1 + e })],
    ['q = 1', (e: number) => ({ q: 1 - Math.abs(e), rho: 1.003 })],
    ['q = rho = 1', (e: number) => ({ q: 1 - Math.abs(e), rho: 1 + e })],
  ])('is continuous (Lipschitz) across %s', (_, at) => {
    const centre = paperSensitivity({ ...logistic, ...at(0) });
    expect(Number.isFinite(centre) && centre > 0).toBe(true);
    for (let k = 4; k <= 15; k++) {
      for (const sign of [1, -1]) {
        const e = sign * 10 ** -k;
        const value = paperSensitivity({ ...logistic, ...at(e) });
        // The function's log-derivative is at most ~2T here; the arithmetic adds ~1e-14.
        expect(relErr(value, centre)).toBeLessThan(2 * 500 * Math.abs(e) + 1e-13);
      }
    }
  });

  it('takes the limits analytically', () => {
    // q = rho = 1: no drift term, and (rho^T - q^T)/(rho^B - q^B) -> T/B, rho^B q^B -> 1.
    const flat = paperSensitivity({ ...logistic, q: 1, rho: 1 });
    expect(relErr(flat, ((2 * 0.05 * 5 * 50) / 32) * (500 / 32))).toBeLessThan(1e-15);
    // q = 1 alone: (1 - q) kills the first term, m = 0 leaves nothing.
    expect(paperSensitivity({ ...logistic, q: 1, rho: 0.97, m: 0 })).toBe(0);
    // rho = q: bracket -> T q^(T-1) - (rho^T - q^2T)/(rho - q^2) at rho = q, second quotient -> T/B q^(T-B).
    const q = 0.995;
    const T = 500;
    const B = 32;
    const bracket = T * q ** (T - 1) - (q ** T - q ** (2 * T)) / (q - q * q);
    const expected =
      2 * 0.05 ** 2 * 5 * (1 - q) * bracket +
      ((2 * 0.05 * 5 * 50) / 32) * (T / B) * q ** (T - B) * q ** (2 * B);
    expect(relErr(paperSensitivity({ ...logistic, rho: q }), expected)).toBeLessThan(1e-12);
  });

  it('grows linearly in m and is positive', () => {
    const s0 = paperSensitivity({ ...logistic, m: 0 });
    const s1 = paperSensitivity({ ...logistic, m: 1 });
    const s100 = paperSensitivity({ ...logistic, m: 100 });
    expect(s0).toBeGreaterThan(0);
    expect(relErr(s100 - s0, 100 * (s1 - s0))).toBeLessThan(1e-12);
  });

  it('returns Infinity, not NaN, when the bound is beyond the double range', () => {
    const p = { ...logistic, q: 0.5, rho: 2, T: 1100, B: 100 };
    expect(paperSensitivity(p)).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(naive(p))).toBe(true);
  });

  it.each([
    [{ eta: 0 }, /eta = 0/],
    [{ q: 0 }, /q = 0 .*\(0, 1\]/],
    [{ q: 1.01 }, /q = 1.01/],
    [{ C: -1 }, /C = -1/],
    [{ rho: 0 }, /rho = 0/],
    [{ rho: Number.NaN }, /rho = NaN/],
    [{ T: 0.5 }, /T = 0.5 .*>= 1/],
    [{ B: 0 }, /B = 0/],
    [{ batchSize: 2.5 }, /batchSize = 2.5 .*integer/],
    [{ m: -1 }, /m = -1 .*integer >= 0/],
  ])('rejects %j', (change, message) => {
    expect(() => paperSensitivity({ ...logistic, ...change })).toThrow(message);
  });
});

describe('divided differences of x^n', () => {
  it('reduce to derivatives at coincident points', () => {
    expect(relErr(powerDividedDifference(0.9, 0.9, 500), 500 * 0.9 ** 499)).toBeLessThan(1e-14);
    expect(
      relErr(
        powerSecondDividedDifference(0.9, 0.9, 0.9, 328.125),
        ((328.125 * 327.125) / 2) * 0.9 ** 326.125,
      ),
    ).toBeLessThan(1e-13);
  });

  it('are exact for polynomials of matching degree', () => {
    // x^2 has second divided difference 1 everywhere; x^3 has a + b + c.
    expect(powerSecondDividedDifference(0.3, 0.7, 2.9, 2)).toBeCloseTo(1, 14);
    expect(powerSecondDividedDifference(1, 1 + 1e-9, 1 - 1e-9, 2)).toBeCloseTo(1, 14);
    expect(relErr(powerSecondDividedDifference(0.5, 0.5000001, 0.4999999, 3), 1.5)).toBeLessThan(
      1e-14,
    );
    expect(relErr(powerSecondDividedDifference(0.5, 2, 3, 3), 5.5)).toBeLessThan(1e-14);
  });

  it('do not stop the series early when a term vanishes (symmetric offsets)', () => {
    // x^4: f[a,b,c] = h_2(a,b,c) = a^2 + b^2 + c^2 + ab + bc + ca; at 1-e, 1, 1+e: 6 + e^2.
    const e = 1e-3;
    expect(relErr(powerSecondDividedDifference(1 - e, 1, 1 + e, 4), 6 + e * e)).toBeLessThan(1e-15);
  });
});

describe('step counts and sensitivity models', () => {
  it('computes T and B as the authors do', () => {
    expect(paperStepCounts({ n: 1000, epochs: 15, batchSize: 32 })).toEqual({ T: 500, B: 32 });
    expect(paperStepCounts({ n: 1000, epochs: 20, batchSize: 64 })).toEqual({ T: 328.125, B: 16 });
    expect(() => paperStepCounts({ n: 1000, epochs: 0, batchSize: 64 })).toThrow(/epochs = 0/);
  });

  it('evaluates paper and user models, and substitutes m in the paper one only', () => {
    const paper = { kind: 'paper' as const, ...logistic };
    expect(sensitivityValue(paper)).toBe(paperSensitivity(logistic));
    const user = { kind: 'user' as const, value: 0.25, description: 'Lipschitz bound, Thm 3' };
    expect(sensitivityValue(user)).toBe(0.25);
    expect(sensitivityValue(withDeletions(paper, 7))).toBe(paperSensitivity({ ...logistic, m: 7 }));
    expect(withDeletions(user, 7)).toBe(user);
  });

  it('rejects malformed models', () => {
    expect(() => sensitivityValue({ kind: 'user', value: -1, description: 'x' })).toThrow(
      /value = -1/,
    );
    expect(() => sensitivityValue({ kind: 'user', value: 1, description: ' ' })).toThrow(
      /description/,
    );
    expect(() => sensitivityValue({ kind: 'other' } as never)).toThrow(/'paper' or 'user'/);
  });
});
