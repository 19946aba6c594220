#!/usr/bin/env node
// Packaging lint for every public package: publint (what a tarball ships and how its exports
// resolve) and arethetypeswrong (whether its types resolve for ESM consumers under Node 16+ and
// bundlers; the packages are ESM only, so CommonJS resolution is not checked). Run after build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);
const bin = (name) => join(root, 'node_modules', '.bin', name);
let failed = 0;
for (const dir of readdirSync(join(root, 'packages')).map((d) => join(root, 'packages', d))) {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) continue;
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  if (pkg.private) continue;
  for (const [tool, args] of [
    ['publint', ['--strict']],
    ['attw', ['--pack', '.', '--profile', 'esm-only', '--format', 'table-flipped']],
  ]) {
    const r = spawnSync(bin(tool), args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) {
      failed++;
      process.stderr.write(`FAIL ${tool} ${pkg.name}\n${r.stdout}${r.stderr}\n`);
    } else {
      process.stderr.write(`ok   ${tool} ${pkg.name}\n`);
    }
  }
}
if (failed > 0) {
  process.stderr.write(`lint-packages: ${failed} check(s) failed\n`);
  process.exit(1);
}
