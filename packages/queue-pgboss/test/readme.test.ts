import { runReadmeExample } from '@lethe/vitest-config/readme';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('runs its example and prints what it says', () => {
    const run = runReadmeExample(import.meta.url);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(run.expected);
  });
});
