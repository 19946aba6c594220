#!/usr/bin/env node
// What a user gets from the registry, checked before publishing: every public package is packed
// (pnpm pack, which turns workspace: ranges into versions), the tarballs are installed with npm
// into an empty project outside the workspace (no links back to it), every entry of every
// `exports` map is imported, and every README example runs under plain Node and must print what
// the README says. A missing file, an undeclared dependency or an export that points nowhere
// fails here. Usage: node tooling/consumer/consumer-test.mjs [--keep]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(new URL('../..', import.meta.url).pathname);
const keep = process.argv.includes('--keep');
const log = (line) => process.stderr.write(`consumer-test: ${line}\n`);

const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ pkg }) => !pkg.private);

for (const { dir, pkg } of packages) {
  if (!existsSync(join(dir, 'dist', 'index.js'))) {
    throw new Error(`${pkg.name} is not built (${dir}/dist is missing): run pnpm build first.`);
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'lethe-consumer-'));
const tarballs = join(scratch, 'tarballs');
const project = join(scratch, 'project');
const failures = [];
try {
  log(`packing ${packages.length} packages into ${tarballs}`);
  const files = {};
  for (const { dir, pkg } of packages) {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', tarballs], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const file = out.trim().split('\n').pop().trim();
    files[pkg.name] = `file:${file}`;
    const listing = execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).split('\n');
    for (const required of ['package/LICENSE', 'package/README.md', 'package/dist/index.js']) {
      if (!listing.includes(required)) failures.push(`${pkg.name}: the tarball lacks ${required}`);
    }
    // A source map that points at a source the tarball does not carry misleads debuggers.
    for (const map of listing.filter((f) => f.endsWith('.js.map'))) {
      const source = map.replace('package/dist/', 'package/src/').replace(/\.js\.map$/, '.ts');
      if (!listing.includes(source))
        failures.push(`${pkg.name}: ${map} points at a missing ${source}`);
    }
  }

  // The tarballs are the dependencies; overrides make the @lethe packages they name resolve to
  // the same tarballs instead of the registry.
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: files, overrides: files }, null, 2)}\n`,
  );
  log('npm install (the registry for third-party dependencies; better-sqlite3 may compile)');
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project,
    encoding: 'utf8',
  });
  if (install.status !== 0) {
    throw new Error(`npm install of the tarballs failed:\n${install.stdout}\n${install.stderr}`);
  }

  for (const { dir, pkg } of packages) {
    // Every entry of the exports map loads.
    for (const key of Object.keys(pkg.exports ?? { '.': null })) {
      if (key === './package.json') continue;
      const specifier = key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`;
      const r = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', `await import('${specifier}')`],
        {
          cwd: project,
          encoding: 'utf8',
        },
      );
      if (r.status !== 0)
        failures.push(
          `${specifier} does not load: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
    }
    // The README example prints what the README says.
    const readme = readFileSync(join(dir, 'README.md'), 'utf8').split('## Example')[1] ?? '';
    const code = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    const expected = /It prints:\n\n```text\n([\s\S]*?)```/.exec(readme)?.[1];
    if (code === undefined || expected === undefined) {
      failures.push(
        `${pkg.name}: its README has no runnable Example (a js block and "It prints:")`,
      );
      continue;
    }
    const file = join(project, `example-${pkg.name.replace('@lethe/', '')}.mjs`);
    writeFileSync(file, code);
    const run = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8' });
    if (run.status !== 0 || run.stdout !== expected) {
      failures.push(
        `${pkg.name}: the README example ${run.status !== 0 ? `exited ${run.status}` : 'printed something else'}:\n${run.stdout}${run.stderr}`,
      );
    } else {
      log(`${pkg.name}: exports load, README example prints what it says`);
    }
  }
} finally {
  if (keep) log(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}

if (failures.length > 0) {
  for (const f of failures) process.stderr.write(`FAIL ${f}\n`);
  process.stderr.write(`consumer-test: ${failures.length} problem(s)\n`);
  process.exit(1);
}
log(`all ${packages.length} packages install from their tarballs and run their examples`);
