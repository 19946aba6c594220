// The discrete Gaussian on the integers, sampled exactly (Canonne, Kamath, Steinke 2020, "The
// Discrete Gaussian for Differential Privacy", Algorithms 1-3): every decision is a comparison
// of uniformly random integers with exact rationals (BigInt), so no floating-point rounding
// shapes the output distribution. That is what closes the floating-point attacks on textbook
// Gaussian noise (Mironov 2012), whose low-order bits of the rounded output reveal the input.
import { LetheError } from '@lethe/core';
import type { NoiseSource } from './noise.js';

const TWO_POW_53 = 2 ** 53;

/** Uniform random bits from a NoiseSource (53 per nextUniform, which is k / 2^53 exactly). */
export class RandomBits {
  #pool = 0n;
  #bits = 0;

  constructor(private readonly source: NoiseSource) {}

  /** A uniform integer in [0, 2^count). */
  take(count: number): bigint {
    while (this.#bits < count) {
      const u = this.source.nextUniform();
      const k = u * TWO_POW_53;
      if (!(Number.isInteger(k) && k >= 0 && k < TWO_POW_53)) {
        throw new LetheError(
          'invalid-argument',
          `noise source ${this.source.algorithm} returned ${u}, not a multiple of 2^-53 in [0, 1); the exact sampler needs 53 uniform bits per draw (use cryptoNoiseSource()).`,
        );
      }
      this.#pool = (this.#pool << 53n) | BigInt(k);
      this.#bits += 53;
    }
    this.#bits -= count;
    const out = this.#pool >> BigInt(this.#bits);
    this.#pool &= (1n << BigInt(this.#bits)) - 1n;
    return out;
  }

  /** A uniform integer in [0, n), by rejection from the next power of two. */
  below(n: bigint): bigint {
    const bits = n.toString(2).length;
    for (;;) {
      const r = this.take(bits);
      if (r < n) return r;
    }
  }

  /** Bernoulli(num / den), 0 <= num <= den. */
  bernoulli(num: bigint, den: bigint): boolean {
    return this.below(den) < num;
  }
}

/** Bernoulli(exp(-num/den)) for num/den >= 0 (CKS 2020, Algorithm 1). */
export function bernoulliExpMinus(bits: RandomBits, num: bigint, den: bigint): boolean {
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

/** The discrete Laplace on Z with scale t: P(x) proportional to exp(-|x|/t) (Algorithm 2). */
export function discreteLaplace(bits: RandomBits, t: bigint): bigint {
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
