#!/usr/bin/env node
// `pnpm bench <experiment> [flags]`: finds the experiment, runs it, prints its summary on stdout
// (progress and notices go to stderr), and exits non-zero with the error's message on failure.
import { readFileSync } from 'node:fs';
import { LetheError } from '@lethe/core';
import type { Experiment } from './experiment.js';
import { EXPERIMENTS } from './experiments/index.js';
import { flagHelp } from './flags.js';
import { runExperiment } from './run-experiment.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function usage(): string {
  const width = Math.max(...EXPERIMENTS.map((e) => e.name.length));
  return [
    'Usage: pnpm bench <experiment> [flags]     (pnpm bench <experiment> --help for its flags)',
    '',
    'Experiments:',
    ...EXPERIMENTS.map((e) => `  ${e.name.padEnd(width)}  ${e.summary}`),
    '',
    'Every experiment takes --out DIR (result.json, result.md, SVG plots), --quick (seconds),',
    '--backend node|wasm|cpu (or LETHE_BACKEND). Progress goes to stderr, results to stdout.',
  ].join('\n');
}

function experimentHelp(e: Experiment<unknown>): string {
  return `Usage: pnpm bench ${e.name} [flags]\n\n${e.description}\n\nFlags:\n${flagHelp(e.flags)}`;
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${version()}\n`);
    return;
  }
  const experiment = EXPERIMENTS.find((e) => e.name === command) as Experiment<unknown> | undefined;
  if (experiment === undefined) {
    throw new LetheError(
      'invalid-argument',
      `Unknown experiment "${command}": the experiments are ${EXPERIMENTS.map((e) => e.name).join(', ')}.\n\n${usage()}`,
    );
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${experimentHelp(experiment)}\n`);
    return;
  }
  const { output, written } = await runExperiment(experiment, rest);
  process.stdout.write(`\n${output.summary.trimEnd()}\n`);
  if (written.length > 0) {
    const out = rest[rest.indexOf('--out') + 1];
    process.stderr.write(`${experiment.name}: wrote ${written.join(', ')} to ${out}\n`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
