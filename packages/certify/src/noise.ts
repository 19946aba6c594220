// Gaussian noise for certified releases. The default source is the operating system's CSPRNG:
// noise drawn from a predictable generator can be subtracted by anyone who can guess the seed,
// which voids the certificate. The seeded source exists for reproducible experiments only.
import { randomBytes } from 'node:crypto';
import { Rng } from '@lethe/core';
import { requireFinite, requireInRange, requireInteger, requireNonNegative } from './validate.js';

export type NoiseSourceKind = 'crypto' | 'seeded';

export interface NoiseSource {
  readonly kind: NoiseSourceKind;
  /** Which generator produced the bits; recorded in certificates. */
  readonly algorithm: string;
  /** A uniform double in [0, 1), a multiple of 2^-53. */
  nextUniform(): number;
}

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;
const POOL_BYTES = 8192;

/** Uniforms from node:crypto's CSPRNG, drawn in pooled chunks of random bytes. */
export function cryptoNoiseSource(): NoiseSource {
  let pool = randomBytes(POOL_BYTES);
  let offset = 0;
  return {
    kind: 'crypto',
    algorithm: 'node:crypto randomBytes',
    nextUniform(): number {
      if (offset + 8 > POOL_BYTES) {
        pool = randomBytes(POOL_BYTES);
        offset = 0;
      }
      // 27 + 26 = 53 random bits, the full precision of a double in [0, 1).
      const high = pool.readUInt32LE(offset) >>> 5;
      const low = pool.readUInt32LE(offset + 4) >>> 6;
      offset += 8;
      return (high * TWO_POW_26 + low) / TWO_POW_53;
    },
  };
}

/** A reproducible source (@lethe/core's Rng). Not private if the seed is known. */
export function seededNoiseSource(seed: number): NoiseSource {
  requireInteger('seededNoiseSource', 'seed', seed, 0);
  requireInRange('seededNoiseSource', 'seed', seed, 0, 0xffffffff, 'an integer in [0, 2^32 - 1]');
  const rng = new Rng(seed);
  return {
    kind: 'seeded',
    algorithm: 'xoshiro128** (@lethe/core Rng)',
    nextUniform: () => rng.nextFloat(),
  };
}

/** `count` independent standard normal draws (Box-Muller, both outputs of each pair used). */
export function standardNormals(count: number, source: NoiseSource): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i += 2) {
    // 1 - U lies in (0, 1], so the logarithm is finite; the radius is bounded by sqrt(106 ln 2).
    const radius = Math.sqrt(-2 * Math.log(1 - source.nextUniform()));
    const angle = 2 * Math.PI * source.nextUniform();
    out[i] = radius * Math.cos(angle);
    if (i + 1 < count) out[i + 1] = radius * Math.sin(angle);
  }
  return out;
}

/** A vector of d draws from N(0, sigma^2), rounded to float32. */
export function gaussianNoise(
  d: number,
  sigma: number,
  source: NoiseSource = cryptoNoiseSource(),
): Float32Array {
  requireInteger('gaussianNoise', 'd', d, 0);
  requireNonNegative('gaussianNoise', 'sigma', sigma);
  const z = standardNormals(d, source);
  const out = new Float32Array(d);
  for (let i = 0; i < d; i++) out[i] = sigma * z[i]!;
  return out;
}

/** weights + N(0, sigma^2 I) as a new array; the sum is formed in float64 and rounded once. */
export function addGaussianNoise(
  weights: Float32Array,
  sigma: number,
  source: NoiseSource = cryptoNoiseSource(),
): Float32Array {
  requireNonNegative('addGaussianNoise', 'sigma', sigma);
  requireFinite('addGaussianNoise', 'weights', weights);
  const z = standardNormals(weights.length, source);
  const out = new Float32Array(weights.length);
  for (let i = 0; i < weights.length; i++) out[i] = weights[i]! + sigma * z[i]!;
  return out;
}
