import { sharedTestConfig } from '@lethe/vitest-config';
import { defineConfig } from 'vitest/config';

export default defineConfig({ test: sharedTestConfig });
