// The discrete Gaussian on the integers, sampled exactly (Canonne, Kamath, Steinke 2020, "The
// Discrete Gaussian for Differential Privacy", Algorithms 1-3): every decision is a comparison
// of uniformly random integers with exact rationals (BigInt), so no floating-point rounding
// shapes the output distribution. That is what closes the floating-point attacks on textbook
// Gaussian noise (Mironov 2012), whose low-order bits of the rounded output reveal the input.
import { LetheError } from '@lethe/core';
import type { NoiseSource } from './noise.js';

const TWO_POW_53 = 2 ** 53;
/** 2^k for k = 0..53, exact. */
const POW2 = Array.from({ length: 54 }, (_, k) => 2 ** k);
/**
 * Below this, the proposals' integers (the Laplace scale t, and t times the rounds of a
 * Bernoulli(exp(-1)) series) stay exact in a double: the sampler then runs on numbers, not
 * BigInt, with the same decisions. The release's noise is about 7,850 of these per release;
 * on BigInt they took 5 to 9 us each and made garbage that the thread serving requests paid for.
 */
const NUMBER_SAFE = 2 ** 40;
const NUMBER_SAFE_BIG = BigInt(NUMBER_SAFE);

/** Uniform random bits from a NoiseSource (53 per nextUniform, which is k / 2^53 exactly). */
export class RandomBits {
  /** The unused low bits of the latest 53-bit draw, as an integer below 2^wordBits. */
  #word = 0;
  #wordBits = 0;
  #pool = 0n;
  #bits = 0;

  constructor(private readonly source: NoiseSource) {}

  #draw(): number {
    const u = this.source.nextUniform();
    const k = u * TWO_POW_53;
    if (!(Number.isInteger(k) && k >= 0 && k < TWO_POW_53)) {
      throw new LetheError(
        'invalid-argument',
        `noise source ${this.source.algorithm} returned ${u}, not a multiple of 2^-53 in [0, 1); the exact sampler needs 53 uniform bits per draw (use cryptoNoiseSource()).`,
      );
    }
    return k;
  }

  /** A uniform integer in [0, 2^count). */
  take(count: number): bigint {
    while (this.#bits < count) {
      this.#pool = (this.#pool << 53n) | BigInt(this.#draw());
      this.#bits += 53;
    }
    this.#bits -= count;
    const out = this.#pool >> BigInt(this.#bits);
    this.#pool &= (1n << BigInt(this.#bits)) - 1n;
    return out;
  }

  /**
   * A uniform integer in [0, 2^count) for count <= 53, as a number. Bits left in a word too
   * short for `count` are dropped: unused, they cannot make the bits taken dependent.
   */
  takeNumber(count: number): number {
    if (this.#wordBits < count) {
      this.#word = this.#draw();
      this.#wordBits = 53;
    }
    this.#wordBits -= count;
    const unit = POW2[this.#wordBits]!;
    const out = Math.floor(this.#word / unit);
    this.#word -= out * unit;
    return out;
  }

  /** One uniform bit, 0 or 1. */
  bit(): number {
    return this.takeNumber(1);
  }

  /** A uniform integer in [0, n), by rejection from the next power of two. */
  below(n: bigint): bigint {
    if (n <= NUMBER_SAFE_BIG) return BigInt(this.belowNumber(Number(n)));
    const bits = n.toString(2).length;
    for (;;) {
      const r = this.take(bits);
      if (r < n) return r;
    }
  }

  /** A uniform integer in [0, n) for an integer 1 <= n <= 2^53, as a number. */
  belowNumber(n: number): number {
    let bits = 0;
    while (POW2[bits]! < n) bits++;
    for (;;) {
      const r = this.takeNumber(bits);
      if (r < n) return r;
    }
  }

  /**
   * Bernoulli(num / den), 0 <= num <= den: a uniform U = 0.u1u2... drawn bit by bit against
   * the binary expansion of num / den, true when U is below it at the first bit they differ
   * (two bits on average, whatever the size of den).
   */
  bernoulli(num: bigint, den: bigint): boolean {
    if (den <= NUMBER_SAFE_BIG) return this.bernoulliNumber(Number(num), Number(den));
    let r = num;
    for (;;) {
      r <<= 1n;
      const b = r >= den ? 1 : 0;
      if (b === 1) r -= den;
      const u = this.bit();
      if (u !== b) return u < b;
    }
  }

  /** Bernoulli(num / den) for integers 0 <= num <= den <= 2^52. */
  bernoulliNumber(num: number, den: number): boolean {
    let r = num;
    for (;;) {
      r *= 2; // below 2^53: exact
      const b = r >= den ? 1 : 0;
      if (b === 1) r -= den;
      const u = this.bit();
      if (u !== b) return u < b;
    }
  }
}

/** Bernoulli(exp(-num/den)) for num/den >= 0 (CKS 2020, Algorithm 1). */
export function bernoulliExpMinus(bits: RandomBits, num: bigint, den: bigint): boolean {
  if (num <= NUMBER_SAFE_BIG && den <= NUMBER_SAFE_BIG) {
    return expMinusNumber(bits, Number(num), Number(den));
  }
  let n = num;
  // exp(-x) = exp(-1)^floor(x) exp(-(x - floor(x))): one trial per unit, then the fraction.
  while (n > den) {
    if (!bernoulliExpMinusAtMostOne(bits, den, den)) return false;
    n -= den;
  }
  return bernoulliExpMinusAtMostOne(bits, n, den);
}

/** Bernoulli(exp(-g)) for g = num/den in [0, 1]: the series of Bernoulli(g / k) trials. */
function bernoulliExpMinusAtMostOne(bits: RandomBits, num: bigint, den: bigint): boolean {
  let k = 1n;
  while (bits.bernoulli(num, den * k)) k += 1n;
  return k % 2n === 1n;
}

/** bernoulliExpMinus on numbers, for integers 0 <= num, 1 <= den <= NUMBER_SAFE. */
function expMinusNumber(bits: RandomBits, num: number, den: number): boolean {
  let n = num;
  while (n > den) {
    if (!expMinusAtMostOneNumber(bits, den, den)) return false;
    n -= den;
  }
  return expMinusAtMostOneNumber(bits, n, den);
}

function expMinusAtMostOneNumber(bits: RandomBits, num: number, den: number): boolean {
  let k = 1;
  // den * k stays below 2^52 unless k passes 2^12, which has probability below 1 / 4096!.
  while (
    den * k <= 2 ** 52
      ? bits.bernoulliNumber(num, den * k)
      : bits.bernoulli(BigInt(num), BigInt(den) * BigInt(k))
  ) {
    k += 1;
  }
  return k % 2 === 1;
}

/** The discrete Laplace on Z with scale t: P(x) proportional to exp(-|x|/t) (Algorithm 2). */
export function discreteLaplace(bits: RandomBits, t: bigint): bigint {
  if (t <= NUMBER_SAFE_BIG) return BigInt(laplaceNumber(bits, Number(t)));
  for (;;) {
    const u = bits.below(t);
    if (!bernoulliExpMinus(bits, u, t)) continue;
    let v = 0n;
    while (bernoulliExpMinus(bits, 1n, 1n)) v += 1n;
    const x = u + t * v;
    const negative = bits.take(1) === 1n;
    if (negative && x === 0n) continue;
    return negative ? -x : x;
  }
}

/** discreteLaplace on numbers, for an integer scale 1 <= t <= NUMBER_SAFE. */
function laplaceNumber(bits: RandomBits, t: number): number {
  for (;;) {
    const u = bits.belowNumber(t);
    if (!expMinusNumber(bits, u, t)) continue;
    let v = 0;
    while (expMinusNumber(bits, 1, 1)) v += 1;
    // v is geometric with ratio exp(-1): t * v passes 2^53 with probability exp(-2^13).
    const x = u + t * v;
    const negative = bits.bit() === 1;
    if (negative && x === 0) continue;
    return negative ? -x : x;
  }
}

/**
 * The discrete Gaussian N_Z(0, s^2), P(x) proportional to exp(-x^2 / (2 s^2)), for
 * s^2 = sigma2Num / sigma2Den > 0 (Algorithm 3: discrete Laplace proposals with
 * t = floor(s) + 1, accepted with probability exp(-(|y| - s^2/t)^2 / (2 s^2))).
 */
export function discreteGaussian(bits: RandomBits, sigma2Num: bigint, sigma2Den: bigint): bigint {
  return new DiscreteGaussianSampler(sigma2Num, sigma2Den).next(bits);
}

const TWO_POW_52 = 2 ** 52;
const TWO_POW_53_BIG = 2n ** 53n;
/** 2^52 as a BigInt: the exact fallback scales a remainder by the 52 bits already drawn. */
const TWO_POW_52_BIG = 2n ** 52n;
/**
 * The float estimate of r / (B k) is within 4 rounding errors (2^-51 relative) of the truth; a
 * draw is decided by it only when it clears the estimate by 2^-40 relative, far outside that.
 */
const FLOAT_MARGIN = 2 ** -40;

/**
 * N_Z(0, s^2) for one s^2, its constants computed once. A release draws one per weight: the
 * acceptance test's rationals (about 2^130 for a grid release) are reduced once per proposal
 * to exp(-1)^q exp(-r/B), and each Bernoulli(r / (B k)) of the series is decided by 52 random
 * bits against a float estimate, with the exact BigInt comparison only where the bits fall
 * within the estimate's error (probability about 2^-39). The decisions are the exact ones; the
 * BigInt bit-by-bit test made about 1 KB of garbage per draw.
 */
export class DiscreteGaussianSampler {
  readonly #num: bigint;
  readonly #t: bigint;
  /** t as a number when the Laplace proposals run on numbers, else undefined. */
  readonly #tNumber: number | undefined;
  readonly #tDen: bigint;
  /** The acceptance exponent's denominator, 2 num den t^2, and its float value. */
  readonly #b: bigint;
  readonly #bNumber: number;

  constructor(sigma2Num: bigint, sigma2Den: bigint) {
    if (!(sigma2Num > 0n && sigma2Den > 0n)) {
      throw new LetheError(
        'invalid-argument',
        `discreteGaussian: the variance ${sigma2Num}/${sigma2Den} must be a positive fraction.`,
      );
    }
    this.#num = sigma2Num;
    this.#t = integerSqrt(sigma2Num / sigma2Den) + 1n;
    this.#tNumber = this.#t <= NUMBER_SAFE_BIG ? Number(this.#t) : undefined;
    this.#tDen = this.#t * sigma2Den;
    this.#b = 2n * sigma2Num * sigma2Den * this.#t * this.#t;
    this.#bNumber = Number(this.#b);
  }

  /** One draw. */
  next(bits: RandomBits): bigint {
    return this.#tNumber === undefined ? this.#nextBig(bits) : BigInt(this.nextNumber(bits));
  }

  /**
   * One draw as a number: exact while the scale fits the number path (t <= 2^40, where a draw
   * beyond 2^53 has probability below exp(-2^13)); larger scales go through BigInt.
   */
  nextNumber(bits: RandomBits): number {
    const t = this.#tNumber;
    if (t === undefined) return Number(this.#nextBig(bits));
    for (;;) {
      const y = laplaceNumber(bits, t);
      if (this.#accept(bits, BigInt(y < 0 ? -y : y))) return y;
    }
  }

  #nextBig(bits: RandomBits): bigint {
    for (;;) {
      const y = discreteLaplace(bits, this.#t);
      if (this.#accept(bits, y < 0n ? -y : y)) return y;
    }
  }

  /** Bernoulli(exp(-a^2 / B)) for a = |y| t den - num: (|y| - s^2/t)^2 / (2 s^2) = a^2 / B. */
  #accept(bits: RandomBits, abs: bigint): boolean {
    const a = abs * this.#tDen - this.#num;
    const a2 = a * a;
    const q = a2 / this.#b;
    const r = a2 % this.#b;
    // exp(-a^2/B) = exp(-1)^q exp(-r/B): q trials of Bernoulli(exp(-1)), then the fraction.
    if (q > TWO_POW_53_BIG) {
      for (let i = 0n; i < q; i++) if (!expMinusNumber(bits, 1, 1)) return false;
    } else {
      for (let i = Number(q); i > 0; i--) if (!expMinusNumber(bits, 1, 1)) return false;
    }
    // exp(-g), g = r/B in [0, 1): the series of Bernoulli(g / k) trials (Algorithm 1).
    const rNumber = Number(r);
    let k = 1;
    while (bernoulliRatio(bits, r, rNumber, this.#b, this.#bNumber, k)) k += 1;
    return k % 2 === 1;
  }
}

/**
 * Bernoulli(r / (b k)) for integers 0 <= r <= b, k >= 1, given their float values: U's first 52
 * bits u decide when [u, u + 1) 2^-52 lies clear of the float estimate of p; otherwise the exact
 * remainder r 2^52 - u b k decides against U's further bits.
 */
export function bernoulliRatio(
  bits: RandomBits,
  r: bigint,
  rNumber: number,
  b: bigint,
  bNumber: number,
  k: number,
): boolean {
  const u = bits.takeNumber(52);
  const bkNumber = bNumber * k;
  // Beyond float range the estimate says nothing: the exact comparison decides.
  if (bkNumber < Infinity) {
    const estimate = rNumber / bkNumber;
    if ((u + 1) / TWO_POW_52 < estimate * (1 - FLOAT_MARGIN)) return true;
    if (u / TWO_POW_52 > estimate * (1 + FLOAT_MARGIN)) return false;
  }
  // U = (u + V) 2^-52 with V uniform in [0, 1): U < r/(bk) exactly when V < r 2^52/(bk) - u.
  const bk = b * BigInt(k);
  const rest = r * TWO_POW_52_BIG - BigInt(u) * bk;
  if (rest < 0n) return false;
  if (rest >= bk) return true;
  return bits.bernoulli(rest, bk);
}

/** floor(sqrt(n)) for n >= 0, exactly (Newton's method on integers). */
export function integerSqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  // Correct the floating-point estimate to the exact floor.
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}
