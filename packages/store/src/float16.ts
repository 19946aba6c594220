// IEEE 754 binary16 conversion. Node 20 has neither Float16Array nor Math.f16round, so this is
// done by bit manipulation (after F. Giesen's float_to_half_fast3_rtne): round to nearest, ties
// to even, with subnormals, infinities and NaN.

/** Largest finite float16. Float32 inputs at or above 65520 round to Infinity. */
export const FLOAT16_MAX = 65504;
/** Smallest float32 magnitude that rounds to float16 Infinity. */
export const FLOAT16_OVERFLOW = 65520;

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

const HALF_INF_OR_NAN_FROM = 0x47800000; // 2^16 as float32 bits: at or above, Inf (or NaN)
const HALF_NORMAL_FROM = 0x38800000; // 2^-14: below, the result is subnormal or zero
const SUBNORMAL_MAGIC = 0x3f000000; // 0.5: adding it aligns the half's subnormal ulp with float32's

/** float32 bit pattern (uint32) -> float16 bit pattern (uint16). */
export function float32BitsToFloat16Bits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  let x = (bits & 0x7fffffff) >>> 0;
  let half: number;
  if (x >= HALF_INF_OR_NAN_FROM) {
    half = x > 0x7f800000 ? 0x7e00 : 0x7c00;
  } else if (x < HALF_NORMAL_FROM) {
    // A float32 add rounds at exactly the half's subnormal ulp (2^-24), ties to even.
    scratchU32[0] = x;
    scratchF32[0] = scratchF32[0]! + 0.5;
    half = scratchU32[0]! - SUBNORMAL_MAGIC;
  } else {
    const mantissaOdd = (x >>> 13) & 1;
    // Rebias the exponent (127 -> 15), then add just under half an ulp plus the odd bit: ties
    // go to even, and a mantissa carry correctly bumps the exponent (up to Infinity).
    x = x - ((127 - 15) << 23) + 0xfff + mantissaOdd;
    half = x >>> 13;
  }
  return sign | half;
}

/** A number (taken as float32) -> float16 bit pattern. */
export function toFloat16Bits(value: number): number {
  scratchF32[0] = value;
  return float32BitsToFloat16Bits(scratchU32[0]!);
}

function float16BitsToNumberSlow(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

// Every half is exactly a float32, so decoding is one table look-up (256 KiB, built once).
const DECODE_TABLE = (() => {
  const table = new Float32Array(0x10000);
  for (let h = 0; h < 0x10000; h++) table[h] = float16BitsToNumberSlow(h);
  return table;
})();

/** float16 bit pattern -> its exact value. */
export function float16BitsToNumber(half: number): number {
  return DECODE_TABLE[half & 0xffff]!;
}

/** Rounds a number (taken as float32) to the nearest float16 value. */
export function roundToFloat16(value: number): number {
  return DECODE_TABLE[toFloat16Bits(value)]!;
}

/**
 * float32 values -> float16 bit patterns, rounded to nearest, ties to even. For an adapter that
 * keeps float16 values in its own layout; the rounding is bit-identical to every other adapter's.
 * (encodeRows already does this for little-endian byte rows.)
 */
export function encodeFloat16(source: Float32Array, target: Uint16Array): void {
  const bits = new Uint32Array(source.buffer, source.byteOffset, source.length);
  for (let i = 0; i < bits.length; i++) target[i] = float32BitsToFloat16Bits(bits[i]!);
}

/**
 * float16 bit patterns -> their exact values, written into target[targetOffset...]. The inverse of
 * encodeFloat16, for an adapter that keeps float16 values in its own layout.
 */
export function decodeFloat16(source: Uint16Array, target: Float32Array, targetOffset = 0): void {
  for (let i = 0; i < source.length; i++) target[targetOffset + i] = DECODE_TABLE[source[i]!]!;
}
