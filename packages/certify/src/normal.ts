// Standard normal tails to full double precision, including far into the tails, built on
// W. J. Cody's rational Chebyshev approximations of erf / erfc (Math. Comp. 23, 1969), which
// are accurate to about one ulp. The scaled form erfcx(x) = exp(x^2) erfc(x) lets callers keep
// the Gaussian factor exp(-x^2) in log space, where it never underflows.

const SQRT_PI_INV = 0.5641895835477563;
const SMALL_ARG = 0.46875;

// Cody's coefficients, written as the shortest literals that round to the same doubles, and
// ordered from the highest power down so that one Horner routine serves every interval.
// erf(x) = x A(x^2) / B(x^2) for |x| <= 0.46875.
const ERF_NUM = [
  0.18577770618460315, 3.1611237438705655, 113.86415415105016, 377.485237685302, 3209.3775891384694,
] as const;
const ERF_DEN = [
  1, 23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.236833439171,
] as const;
// erfcx(x) = C(x) / D(x) for 0.46875 < x <= 4.
const MID_NUM = [
  2.1531153547440383e-8, 0.5641884969886701, 8.883149794388377, 66.11919063714163,
  298.6351381974001, 881.952221241769, 1712.0476126340707, 2051.0783778260716, 1230.3393547979972,
] as const;
const MID_DEN = [
  1, 15.744926110709835, 117.6939508913125, 537.1811018620099, 1621.3895745666903,
  3290.7992357334597, 4362.619090143247, 3439.3676741437216, 1230.3393548037495,
] as const;
// erfcx(x) = (1/sqrt(pi) - R(z) / x^2) / x with z = 1/x^2, R = P/Q, for x > 4.
const TAIL_NUM = [
  0.016315387137302097, 0.30532663496123236, 0.36034489994980445, 0.12578172611122926,
  0.016083785148742275, 0.0006587491615298378,
] as const;
const TAIL_DEN = [
  1, 2.568520192289822, 1.8729528499234604, 0.5279051029514285, 0.06051834131244132,
  0.0023352049762686918,
] as const;
const MID_END = 4;
const HUGE_ARG = 6.71e7; // beyond this the tail correction is below one ulp

function horner(coefs: readonly number[], x: number): number {
  let acc = 0;
  for (const c of coefs) acc = acc * x + c;
  return acc;
}

/** (p(x1) - p(x2)) / (x1 - x2) without subtracting p values: the quotient of p by (x - x1) at x2. */
function hornerDividedDifference(coefs: readonly number[], x1: number, x2: number): number {
  let quotientCoef = 0;
  let acc = 0;
  for (let i = 0; i < coefs.length - 1; i++) {
    quotientCoef = quotientCoef * x1 + coefs[i]!;
    acc = acc * x2 + quotientCoef;
  }
  return acc;
}

/** (r(x1) - r(x2)) / (x1 - x2) for r = num / den, from divided differences of each polynomial. */
function rationalDividedDifference(
  num: readonly number[],
  den: readonly number[],
  x1: number,
  x2: number,
): number {
  const den1 = horner(den, x1);
  const den2 = horner(den, x2);
  const numDiff = hornerDividedDifference(num, x1, x2);
  const denDiff = hornerDividedDifference(den, x1, x2);
  return (numDiff * den2 - horner(num, x2) * denDiff) / (den1 * den2);
}

function erfSmall(x: number): number {
  const z = x * x;
  return (x * horner(ERF_NUM, z)) / horner(ERF_DEN, z);
}

/** exp(x^2) erfc(x) for x >= 0; decreases from 1 to 0 like 1/(sqrt(pi) x). */
export function erfcxNonNegative(x: number): number {
  if (x <= SMALL_ARG) return Math.exp(x * x) * (1 - erfSmall(x));
  if (x <= MID_END) return horner(MID_NUM, x) / horner(MID_DEN, x);
  if (x >= HUGE_ARG) return SQRT_PI_INV / x;
  const z = 1 / (x * x);
  return (SQRT_PI_INV - (z * horner(TAIL_NUM, z)) / horner(TAIL_DEN, z)) / x;
}

/**
 * erfcx(x) - erfcx(x + gap) for x >= 0, gap > 0. Subtracting the two values loses about
 * log10(x / gap) digits when gap is small; inside one of Cody's intervals the difference is
 * instead formed from divided differences of his rational functions, which keeps full precision.
 */
export function erfcxGap(x: number, gap: number): number {
  const y = x + gap;
  if (x > SMALL_ARG && y <= MID_END) {
    return -gap * rationalDividedDifference(MID_NUM, MID_DEN, x, y);
  }
  if (x > MID_END && y < HUGE_ARG) {
    // erfcx(t) = 1/(sqrt(pi) t) - R(1/t^2) / t^3, with 1/x - 1/y = gap/(xy) and
    // 1/x^3 - 1/y^3 = gap (x^2 + xy + y^2)/(xy)^3 and 1/x^2 - 1/y^2 = gap (x + y)/(xy)^2.
    const xy = x * y;
    const zx = 1 / (x * x);
    const zy = 1 / (y * y);
    const rx = horner(TAIL_NUM, zx) / horner(TAIL_DEN, zx);
    const rDiff =
      ((gap * (x + y)) / (xy * xy)) * rationalDividedDifference(TAIL_NUM, TAIL_DEN, zx, zy);
    const leading = (SQRT_PI_INV * gap) / xy;
    const correction = (rx * gap * (x * x + xy + y * y)) / (xy * xy * xy) + rDiff / (y * y * y);
    return leading - correction;
  }
  return erfcxNonNegative(x) - erfcxNonNegative(y);
}

/** erf(x) for x >= 0, without the cancellation of 1 - erfc(x) near 0. */
export function erfNonNegative(x: number): number {
  if (x <= SMALL_ARG) return erfSmall(x);
  return 1 - erfcxNonNegative(x) * Math.exp(-x * x);
}

/** log of the standard normal CDF, accurate for arguments far into either tail. */
export function logNormalCdf(z: number): number {
  if (Number.isNaN(z)) return Number.NaN;
  if (z === Number.POSITIVE_INFINITY) return 0;
  if (z === Number.NEGATIVE_INFINITY) return Number.NEGATIVE_INFINITY;
  const t = Math.abs(z) / Math.SQRT2;
  // Upper tail mass Phi(-|z|) = erfcx(t) exp(-t^2) / 2, kept in log space.
  const logTail = Math.log(0.5 * erfcxNonNegative(t)) - t * t;
  return z < 0 ? logTail : Math.log1p(-Math.exp(logTail));
}

/** log(1 - exp(x)) for x <= 0, choosing the branch that keeps full precision (Maechler 2012). */
export function log1mexp(x: number): number {
  if (x > 0 || Number.isNaN(x)) return Number.NaN;
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x));
}
