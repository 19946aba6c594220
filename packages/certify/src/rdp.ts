// Renyi differential privacy of the Gaussian mechanism and its conversion to (epsilon, delta).

import { LetheError } from '@lethe/core';
/**
 * Default Renyi orders: fine near 1 (large totals) and up to 2^14 (many tiny releases, where the
 * best order is about 1 + sqrt(log(1/delta) / rho)).
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 79 }, (_, i) => 1.05 + i * 0.05), // 1.05 .. 4.95
  ...Array.from({ length: 60 }, (_, i) => 5 + i), // 5 .. 64
  ...Array.from({ length: 8 }, (_, i) => 2 ** (7 + i)), // 128 .. 16384
]);

/**
 * The smallest epsilon over the orders for which a mechanism whose RDP at order alpha is
 * alpha * rho (rho = sum D^2 / (2 sigma^2) over composed Gaussian releases) is
 * (epsilon, delta)-DP, by the conversion of Balle, Barthe, Gaboardi, Hsu & Sato (AISTATS 2020,
 * Thm 21), also Canonne, Kamath & Steinke (2020, Prop. 12):
 *   eps = RDP(alpha) + log((alpha - 1)/alpha) - (log delta + log alpha)/(alpha - 1).
 * It is never worse than the standard RDP(alpha) + log(1/delta)/(alpha - 1).
 */
export function rdpToEpsilon(
  rho: number,
  delta: number,
  orders: readonly number[],
): { epsilon: number; order: number } {
  if (rho === 0) return { epsilon: 0, order: Number.NaN };
  const logDelta = Math.log(delta);
  let best = Number.POSITIVE_INFINITY;
  let bestOrder = Number.NaN;
  for (const alpha of orders) {
    const eps =
      alpha * rho + Math.log((alpha - 1) / alpha) - (logDelta + Math.log(alpha)) / (alpha - 1);
    if (eps < best) {
      best = eps;
      bestOrder = alpha;
    }
  }
  return { epsilon: Math.max(0, best), order: bestOrder };
}

export function validateOrders(orders: readonly number[]): readonly number[] {
  if (!Array.isArray(orders) || orders.length === 0) {
    throw new LetheError(
      'invalid-argument',
      'orders: expected a non-empty array of Renyi orders > 1; leave orders out for DEFAULT_RDP_ORDERS.',
    );
  }
  for (const alpha of orders) {
    if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha <= 1) {
      throw new LetheError(
        'invalid-argument',
        `orders: alpha = ${alpha} is invalid; expected finite numbers > 1 (or leave orders out for DEFAULT_RDP_ORDERS).`,
      );
    }
  }
  return Object.freeze([...orders]);
}
