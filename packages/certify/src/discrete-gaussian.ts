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
  const t = integerSqrt(sigma2Num / sigma2Den) + 1n;
  for (;;) {
    const y = discreteLaplace(bits, t);
    const abs = y < 0n ? -y : y;
    // (|y| - s^2/t)^2 / (2 s^2) = (|y| t den - num)^2 / (2 num den t^2)
    const diff = abs * t * sigma2Den - sigma2Num;
    if (bernoulliExpMinus(bits, diff * diff, 2n * sigma2Num * sigma2Den * t * t)) return y;
  }
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
