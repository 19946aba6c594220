import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('runs its example and prints what it says', () => {
    const example = readme.split('## Example')[1]!;
    const code = /```js\n([\s\S]*?)```/.exec(example)![1]!;
    const output = /It prints:\n\n```text\n([\s\S]*?)```/.exec(example)![1]!;
    // From the package directory, '@lethe/baselines' resolves to this (built) package.
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: packageDir,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(output);
  });
});
