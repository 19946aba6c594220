// Finds the result directories a report reads: each --in is a directory holding result.json,
// or a directory of such directories (e.g. docs/results).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { LetheError } from '@lethe/core';

/** One result directory as the report reads it. */
export interface LoadedResult {
  /** The directory, relative to the working directory. */
  readonly dir: string;
  /** A short name: the directory's last segment. */
  readonly name: string;
  /** The experiment that wrote it (`experiment`), or undefined when unreadable. */
  readonly experiment: string | undefined;
  readonly record: Readonly<Record<string, unknown>> | undefined;
  /** result.md, when present. */
  readonly markdown: string | undefined;
  /** Why it could not be read, if it could not. */
  readonly problem?: string;
}

function readOne(dir: string): LoadedResult {
  const name = basename(dir);
  const shown = relative(process.cwd(), dir) || '.';
  const md = join(dir, 'result.md');
  const markdown = existsSync(md) ? readFileSync(md, 'utf8') : undefined;
  try {
    const record = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as unknown;
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new Error('result.json is not a JSON object');
    }
    const experiment = (record as { experiment?: unknown }).experiment;
    return {
      dir: shown,
      name,
      experiment: typeof experiment === 'string' ? experiment : undefined,
      record: record as Record<string, unknown>,
      markdown,
    };
  } catch (err) {
    return {
      dir: shown,
      name,
      experiment: undefined,
      record: undefined,
      markdown,
      problem: (err as Error).message,
    };
  }
}

/** Every result directory under the inputs, in the order given (subdirectories sorted). */
export function loadResults(inputs: readonly string[]): LoadedResult[] {
  const out: LoadedResult[] = [];
  for (const input of inputs) {
    if (!existsSync(input) || !statSync(input).isDirectory()) {
      throw new LetheError(
        'invalid-argument',
        `--in ${input}: no such directory; pass directories written by pnpm bench <experiment> --out DIR, or a directory of them.`,
      );
    }
    if (existsSync(join(input, 'result.json'))) {
      out.push(readOne(input));
      continue;
    }
    const children = readdirSync(input, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(input, d.name, 'result.json')))
      .map((d) => d.name)
      .sort();
    if (children.length === 0) {
      throw new LetheError(
        'invalid-argument',
        `--in ${input}: holds no result.json, nor do its subdirectories; pass a directory written by pnpm bench <experiment> --out DIR.`,
      );
    }
    for (const child of children) out.push(readOne(join(input, child)));
  }
  return out;
}
