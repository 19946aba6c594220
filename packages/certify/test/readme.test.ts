import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it, vi } from 'vitest';

it('runs the README example and its certificate verifies', async () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const index = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href;
  const dir = mkdtempSync(join(tmpdir(), 'certify-readme-'));
  const file = join(dir, 'example.ts');
  writeFileSync(file, block!.replace("from '@lethe/certify'", `from '${index}'`));
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    const example = await import(pathToFileURL(file).href);
    expect(example.problems).toEqual([]);
    expect(log).toHaveBeenCalledTimes(2);
    const [deletions, limitedBy] = log.mock.calls[0]!;
    expect(deletions).toBeGreaterThan(0);
    expect(['sigmaCeiling', 'budget']).toContain(limitedBy);
  } finally {
    log.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
});
