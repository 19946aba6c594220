// Every package's README has a `## Example` whose ```js block a test runs, comparing what it
// prints with the ```text block after "It prints:". One runner, so that the examples stay honest.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Runs the README example of the package that `testFileUrl` (a file in its test/ folder) belongs
 * to, with Node, from the package directory, so that the package's own name resolves to its
 * built self. Returns what it printed and what the README says it prints.
 */
export function runReadmeExample(testFileUrl) {
  const packageDir = fileURLToPath(new URL('..', testFileUrl));
  const readmePath = `${packageDir}README.md`;
  const example = readFileSync(readmePath, 'utf8').split('## Example')[1];
  if (example === undefined) throw new Error(`${readmePath} has no "## Example" section.`);
  const code = /```js\n([\s\S]*?)```/.exec(example)?.[1];
  const expected = /It prints:\n\n```text\n([\s\S]*?)```/.exec(example)?.[1];
  if (code === undefined || expected === undefined) {
    throw new Error(
      `${readmePath}: the Example section needs a \`\`\`js block, then "It prints:" and a \`\`\`text block.`,
    );
  }
  if (!existsSync(`${packageDir}dist/index.js`)) {
    throw new Error(
      `The README example imports the built package: run pnpm build (or pnpm test, which builds) first.`,
    );
  }
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: packageDir,
    encoding: 'utf8',
  });
  return { stdout: run.stdout, stderr: run.stderr, status: run.status, expected };
}
