// Shared vitest settings. Numerical tests are CPU-heavy and the machines have 2 cores, so
// test files run in forked processes (tfjs's wasm backend is per process) with generous timeouts.
import { availableParallelism } from 'node:os';

export const sharedTestConfig = {
  pool: 'forks',
  // vitest's default (cores - 1) runs one file at a time on 2 cores; two files side by side
  // took the suite from about 9.5 to 5.5 minutes here (much of it waits on Postgres and child
  // processes), with every test passing.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  testTimeout: 120_000,
  hookTimeout: 120_000,
  include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
};
