import { LetheError } from '@lethe/core';

// Bisection on the bit patterns of doubles: for non-negative doubles, the ordering of their
// IEEE-754 bit patterns as integers is the ordering of their values, so halving the integer
// interval finds the exact boundary double in at most 64 steps, with no tolerance to choose.

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);

function bitsOf(x: number): bigint {
  f64[0] = x;
  return i64[0]!;
}

function fromBits(bits: bigint): number {
  i64[0] = bits;
  return f64[0]!;
}

/**
 * The smallest double x in (lo, hi] with holds(x), for a predicate that is false at lo, true at
 * hi and monotone in between (0 <= lo < hi). The answer always satisfies the predicate.
 */
export function smallestDoubleWhere(holds: (x: number) => boolean, lo: number, hi: number): number {
  if (!(lo >= 0 && hi > lo && Number.isFinite(hi))) {
    throw new LetheError(
      'invalid-argument',
      `smallestDoubleWhere: need 0 <= lo < hi < Infinity, got [${lo}, ${hi}].`,
    );
  }
  let loBits = bitsOf(lo);
  let hiBits = bitsOf(hi);
  while (hiBits - loBits > 1n) {
    const midBits = (loBits + hiBits) >> 1n;
    if (holds(fromBits(midBits))) hiBits = midBits;
    else loBits = midBits;
  }
  return fromBits(hiBits);
}
