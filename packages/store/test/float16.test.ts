import { describe, expect, it } from 'vitest';
import {
  FLOAT16_MAX,
  FLOAT16_OVERFLOW,
  float16BitsToNumber,
  roundToFloat16,
  toFloat16Bits,
} from '../src/float16.js';

/** binary16 decoded in float64 from its definition, independently of the module's table. */
function reference(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = (half & 0x3ff) / 1024;
  if (exponent === 0) return sign * fraction * 2 ** -14;
  if (exponent === 31) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction) * 2 ** (exponent - 15);
}

const f32 = Math.fround;
/** The next float32 above / below a positive float32. */
function nextUp(x: number): number {
  const a = new Float32Array([x]);
  const u = new Uint32Array(a.buffer);
  u[0]! += 1;
  return a[0]!;
}
function nextDown(x: number): number {
  const a = new Float32Array([x]);
  const u = new Uint32Array(a.buffer);
  u[0]! -= 1;
  return a[0]!;
}

describe('float16 conversion', () => {
  it('decodes all 65536 bit patterns as the binary16 definition says', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if (!Object.is(float16BitsToNumber(h), reference(h))) {
        wrong.push(`0x${h.toString(16)}: ${float16BitsToNumber(h)} != ${reference(h)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('encodes every float16 value back to its own bits (round trip)', () => {
    const wrong: string[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const value = reference(h);
      // NaN payloads are not kept: every NaN becomes the quiet NaN 0x7e00.
      const want = Number.isNaN(value) ? 0x7e00 : h;
      const got = toFloat16Bits(value) & (Number.isNaN(value) ? 0x7fff : 0xffff);
      if (got !== want) wrong.push(`0x${h.toString(16)} -> 0x${got.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds every midpoint between neighbours to the even one, and nearby values to the nearest', () => {
    // All positive finite halves; the sign is handled by the same path (checked below).
    const wrong: string[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (reference(h) + reference(h + 1)) / 2; // 12 significant bits: exact in float32
      const even = h % 2 === 0 ? h : h + 1;
      const cases: [number, number][] = [
        [mid, even],
        [nextDown(mid), h],
        [nextUp(mid), h + 1],
        [-mid, even | 0x8000],
      ];
      if (f32(mid) !== mid) wrong.push(`midpoint ${mid} is not a float32`);
      for (const [input, want] of cases) {
        const got = toFloat16Bits(input);
        if (got !== want)
          wrong.push(`${input} -> 0x${got.toString(16)}, want 0x${want.toString(16)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('overflows to Infinity from 65520 on (the midpoint above the largest half), not before', () => {
    expect(reference(0x7bff)).toBe(FLOAT16_MAX);
    expect(toFloat16Bits(FLOAT16_OVERFLOW)).toBe(0x7c00);
    expect(toFloat16Bits(nextDown(FLOAT16_OVERFLOW))).toBe(0x7bff);
    expect(toFloat16Bits(-1e30)).toBe(0xfc00);
    expect(toFloat16Bits(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(toFloat16Bits(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(roundToFloat16(1e6)).toBe(Number.POSITIVE_INFINITY);
  });

  it('handles subnormals, signed zero and tiny values', () => {
    const smallest = 2 ** -24;
    expect(toFloat16Bits(smallest)).toBe(0x0001);
    expect(toFloat16Bits(smallest / 2)).toBe(0x0000); // tie: to even (zero)
    expect(toFloat16Bits(nextUp(smallest / 2))).toBe(0x0001);
    expect(toFloat16Bits(-smallest / 2)).toBe(0x8000); // -0 keeps its sign
    expect(toFloat16Bits(1e-40)).toBe(0x0000); // float32 subnormal
    expect(toFloat16Bits(-0)).toBe(0x8000);
    expect(Object.is(roundToFloat16(-0), -0)).toBe(true);
    expect(toFloat16Bits(2 ** -14)).toBe(0x0400); // smallest normal
    expect(toFloat16Bits(nextDown(2 ** -14))).toBe(0x0400); // rounds up into the normals
  });

  it('keeps NaN a NaN', () => {
    expect(roundToFloat16(Number.NaN)).toBeNaN();
    expect(toFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(toFloat16Bits(Number.NaN) & 0x03ff).not.toBe(0);
  });

  it('stays within half an ulp (relative 2^-11) of float32 inputs across the normal range', () => {
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let worst = 0;
    for (let k = 0; k < 20000; k++) {
      const v = f32((random() < 0.5 ? -1 : 1) * 2 ** (-14 + random() * 29.9));
      worst = Math.max(worst, Math.abs(roundToFloat16(v) - v) / Math.abs(v));
    }
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(2 ** -12); // the bound is tight, so the check has teeth
  });
});
