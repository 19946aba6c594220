// Shared vitest settings. Numerical tests are CPU-heavy and the machines have 2 cores, so
// test files run in forked processes (tfjs's wasm backend is per process) with generous timeouts.
export const sharedTestConfig = {
  pool: 'forks',
  testTimeout: 120_000,
  hookTimeout: 120_000,
  include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
};
