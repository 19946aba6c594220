import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gaussianLogDelta } from '../src/gaussian-mechanism.js';
import {
  analyticGaussianDelta,
  analyticGaussianEpsilon,
  analyticGaussianSigma,
  classicGaussianSigma,
  DELTA_HEADROOM,
} from '../src/index.js';
import { logNormalCdf } from '../src/normal.js';

interface AgmRow {
  epsilon: number;
  delta: number;
  sensitivity: number;
  sigma: number;
  epsilonBack: number;
  classicSigma: number | null;
}

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const agmRows: AgmRow[] = fixture('agm.json').rows;
const curveRows: [number, number, number][] = fixture('agm-curve.json').rows;

const relErr = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);

/** The next double below x > 0 (x has a positive finite representation). */
function previousDouble(x: number): number {
  const f = new Float64Array([x]);
  const i = new BigInt64Array(f.buffer);
  i[0] = i[0]! - 1n;
  return f[0]!;
}

describe('analyticGaussianSigma against the 50-digit reference (agm.json)', () => {
  it('matches every sigma to 1e-9 relative and epsilonBack to 1e-6', () => {
    expect(agmRows.length).toBe(30);
    let worstSigma = 0;
    let worstEpsilon = 0;
    for (const row of agmRows) {
      const sigma = analyticGaussianSigma(row);
      worstSigma = Math.max(worstSigma, relErr(sigma, row.sigma));
      const epsilon = analyticGaussianEpsilon({ ...row, sigma: row.sigma });
      worstEpsilon = Math.max(worstEpsilon, relErr(epsilon, row.epsilonBack));
    }
    expect(worstSigma).toBeLessThan(1e-9);
    expect(worstEpsilon).toBeLessThan(1e-6);
  });

  it('never under-noises: the answer meets delta, the double below it does not (with headroom)', () => {
    for (const row of agmRows) {
      const sigma = analyticGaussianSigma(row);
      expect(sigma).toBeGreaterThanOrEqual(row.sigma * (1 - 1e-15));
      const target = Math.log(row.delta) + Math.log1p(-DELTA_HEADROOM);
      expect(gaussianLogDelta(row.epsilon, sigma, row.sensitivity)).toBeLessThanOrEqual(target);
      expect(gaussianLogDelta(row.epsilon, previousDouble(sigma), row.sensitivity)).toBeGreaterThan(
        target,
      );
    }
  });

  it('returns the smallest epsilon to the last double', () => {
    for (const row of agmRows.slice(0, 10)) {
      const epsilon = analyticGaussianEpsilon(row);
      const target = Math.log(row.delta) + Math.log1p(-DELTA_HEADROOM);
      expect(gaussianLogDelta(epsilon, row.sigma, row.sensitivity)).toBeLessThanOrEqual(target);
      expect(gaussianLogDelta(previousDouble(epsilon), row.sigma, row.sensitivity)).toBeGreaterThan(
        target,
      );
    }
  });

  it('matches classicSigma where the reference has one', () => {
    const withClassic = agmRows.filter((r) => r.classicSigma !== null);
    expect(withClassic.length).toBeGreaterThan(5);
    for (const row of withClassic) {
      expect(relErr(classicGaussianSigma(row), row.classicSigma!)).toBeLessThan(1e-12);
      // The analytic calibration is never noisier than the classic one.
      expect(analyticGaussianSigma(row)).toBeLessThan(row.classicSigma!);
    }
  });
});

describe('the privacy curve in log space', () => {
  it('matches 60-digit values to 1e-12 relative in delta, down to delta ~ 1e-1500', () => {
    expect(curveRows.length).toBeGreaterThan(200);
    let worst = 0;
    for (const [epsilon, sigma, logDelta] of curveRows) {
      const got = gaussianLogDelta(epsilon, sigma, 1);
      worst = Math.max(worst, Math.abs(Math.expm1(got - logDelta)));
    }
    expect(worst).toBeLessThan(1e-12);
  });

  it('depends on sigma and sensitivity only through their ratio', () => {
    for (const [epsilon, s, logDelta] of curveRows.slice(0, 40)) {
      const scaled = gaussianLogDelta(epsilon, s * 1024, 1024);
      expect(Math.abs(scaled - logDelta)).toBeLessThan(1e-12 * Math.max(1, -logDelta));
    }
  });

  it('is decreasing in sigma and in epsilon', () => {
    let previous = Number.POSITIVE_INFINITY;
    for (let sigma = 0.1; sigma < 50; sigma *= 1.3) {
      const d = gaussianLogDelta(1, sigma, 1);
      expect(d).toBeLessThan(previous);
      previous = d;
    }
    previous = Number.POSITIVE_INFINITY;
    for (let epsilon = 0.001; epsilon < 100; epsilon *= 1.5) {
      const d = gaussianLogDelta(epsilon, 2, 1);
      expect(d).toBeLessThan(previous);
      previous = d;
    }
  });

  it('logNormalCdf matches closed-form tails', () => {
    expect(logNormalCdf(0)).toBeCloseTo(-Math.LN2, 15);
    // 60-digit values of log Phi(z).
    expect(relErr(logNormalCdf(-40), -804.6084420137538)).toBeLessThan(1e-15);
    expect(relErr(logNormalCdf(-1000), -500007.82669481216)).toBeLessThan(1e-15);
    expect(relErr(logNormalCdf(5), -2.866516129637636e-7)).toBeLessThan(1e-14);
    expect(relErr(logNormalCdf(-3), -6.607726221510349)).toBeLessThan(1e-15);
  });
});

describe('calibration in the hard regimes', () => {
  it('stays finite and self-consistent for tiny delta and large epsilon', () => {
    for (const [epsilon, delta] of [
      [50, 1e-300],
      [0.001, 1e-200],
      [200, 1e-12],
      [1e-6, 0.5],
    ] as const) {
      const sigma = analyticGaussianSigma({ epsilon, delta, sensitivity: 1 });
      expect(Number.isFinite(sigma) && sigma > 0).toBe(true);
      const back = analyticGaussianEpsilon({ sigma, delta, sensitivity: 1 });
      expect(relErr(back, epsilon)).toBeLessThan(1e-9);
    }
  });

  it('is linear in the sensitivity (to within the root finder)', () => {
    const unit = analyticGaussianSigma({ epsilon: 1, delta: 1e-5, sensitivity: 1 });
    for (const d of [1e-6, 0.37, 250, 1e8]) {
      const sigma = analyticGaussianSigma({ epsilon: 1, delta: 1e-5, sensitivity: d });
      expect(relErr(sigma, unit * d)).toBeLessThan(1e-14);
    }
  });

  it('needs no noise at sensitivity 0, and epsilon is 0 when delta alone is met', () => {
    expect(analyticGaussianSigma({ epsilon: 1, delta: 1e-5, sensitivity: 0 })).toBe(0);
    expect(analyticGaussianEpsilon({ sigma: 1, delta: 1e-5, sensitivity: 0 })).toBe(0);
    // delta(0; sigma) = 2 Phi(D / 2 sigma) - 1 ~ 0.0399 for D / sigma = 0.1.
    expect(analyticGaussianEpsilon({ sigma: 10, delta: 0.05, sensitivity: 1 })).toBe(0);
    expect(analyticGaussianEpsilon({ sigma: 10, delta: 0.03, sensitivity: 1 })).toBeGreaterThan(0);
  });

  it('analyticGaussianDelta is the curve itself', () => {
    const row = agmRows[0]!;
    const delta = analyticGaussianDelta({ epsilon: row.epsilon, sigma: row.sigma, sensitivity: 1 });
    expect(relErr(delta, row.delta)).toBeLessThan(1e-12);
  });
});

describe('invalid inputs', () => {
  const ok = { epsilon: 1, delta: 1e-5, sensitivity: 1 };
  it.each([
    [{ ...ok, epsilon: 0 }, /epsilon = 0 .*> 0/],
    [{ ...ok, epsilon: -1 }, /epsilon = -1 .*> 0/],
    [{ ...ok, epsilon: Number.POSITIVE_INFINITY }, /epsilon = Infinity/],
    [{ ...ok, epsilon: Number.NaN }, /epsilon = NaN/],
    [{ ...ok, delta: 0 }, /delta = 0 .*\(0, 1\)/],
    [{ ...ok, delta: 1 }, /delta = 1 .*\(0, 1\)/],
    [{ ...ok, delta: -0.1 }, /delta = -0.1/],
    [{ ...ok, sensitivity: -1 }, /sensitivity = -1 .*>= 0/],
    [{ ...ok, sensitivity: Number.NaN }, /sensitivity = NaN/],
    [{ ...ok, sensitivity: Number.POSITIVE_INFINITY }, /sensitivity = Infinity/],
  ])('analyticGaussianSigma(%j) throws', (query, message) => {
    expect(() => analyticGaussianSigma(query)).toThrow(message);
  });

  it('analyticGaussianEpsilon rejects sigma <= 0', () => {
    expect(() => analyticGaussianEpsilon({ sigma: 0, delta: 1e-5, sensitivity: 1 })).toThrow(
      /analyticGaussianEpsilon: sigma = 0 is invalid; expected a finite number > 0/,
    );
    expect(() => analyticGaussianEpsilon({ sigma: -2, delta: 1e-5, sensitivity: 1 })).toThrow(
      /sigma = -2/,
    );
  });

  it('classicGaussianSigma refuses epsilon >= 1 and points to the analytic calibration', () => {
    expect(() => classicGaussianSigma({ epsilon: 1, delta: 1e-5, sensitivity: 1 })).toThrow(
      /epsilon = 1 is invalid.*\(0, 1\).*analyticGaussianSigma/,
    );
    expect(() => classicGaussianSigma({ epsilon: 0.5, delta: 2, sensitivity: 1 })).toThrow(
      /delta = 2/,
    );
  });
});
