// The published schema of result.json (schema/result.schema.json), compiled once for the tests
// that check what the experiments write.
import { readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { Ajv } from 'ajv';
import { expect } from 'vitest';

const schema = JSON.parse(
  readFileSync(new URL('../schema/result.schema.json', import.meta.url), 'utf8'),
) as object;

export const validateResult = new Ajv({
  allErrors: true,
  strict: true,
  strictRequired: false,
  strictTypes: false,
}).compile(schema);

/** Fails with ajv's messages when the record does not follow the schema. */
export function expectValidResult(record: unknown): void {
  const ok = validateResult(record);
  expect(ok, JSON.stringify(validateResult.errors, null, 1)).toBe(true);
}

/** Fails when the text names an absolute path of this machine. */
export function expectNoMachinePaths(text: string): void {
  const repo = new URL('../../../', import.meta.url).pathname.replace(/\/$/, '');
  for (const path of [repo, homedir(), tmpdir(), process.cwd()]) {
    if (path.length > 1) expect(text).not.toContain(path);
  }
}
