// The one writer of results: every experiment returns an ExperimentOutput and this module turns
// it into result.json (with the run's metadata), result.md, plots and other files, each written
// atomically so that a reader never sees half a file.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { basename, isAbsolute, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { ExperimentOutput } from './experiment.js';
import { writeAtomic } from './files.js';
import { portableText, portableValue } from './portable.js';

/** Version of the result.json layout (`format`): raised when a field changes meaning. */
export const RESULT_FORMAT = 1;

const LETHE_PACKAGES = [
  '@lethe/core',
  '@lethe/autodiff',
  '@lethe/datasets',
  '@lethe/recollect',
  '@lethe/store',
  '@lethe/certify',
  '@lethe/baselines',
  '@lethe/evaluate',
] as const;

/** Versions of Node, TensorFlow.js and every @lethe package the bench runs on. */
export function versions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const own = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  const out: Record<string, string> = {
    node: process.version,
    tfjs: tf.version_core,
    '@lethe/bench': own.version,
  };
  for (const name of LETHE_PACKAGES) {
    out[name] = (require(`${name}/package.json`) as { version: string }).version;
  }
  return out;
}

/** An argument as recorded: paths relative to the working directory, never absolute. */
function portableArg(arg: string): string {
  return arg
    .split(',')
    .map((part) => {
      const [prefix, path] = /^([a-z]+:)?(\/.*)$/.exec(part)?.slice(1) ?? [];
      if (path === undefined || !isAbsolute(path)) return part;
      const rel = relative(process.cwd(), path);
      return `${prefix ?? ''}${rel.startsWith('..') ? `<abs>/${basename(path)}` : rel}`;
    })
    .join(',');
}

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: new URL('.', import.meta.url),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}

/** What the machine was doing when the run started; finished by `runMetadata`. */
export interface RunStart {
  readonly argv: readonly string[];
  readonly startedAt: Date;
  readonly loadAverage: readonly number[];
}

export function startRun(argv: readonly string[]): RunStart {
  return { argv, startedAt: new Date(), loadAverage: loadavg() };
}

/** The metadata every result.json carries beside the experiment's own record. */
export function runMetadata(start: RunStart) {
  const cpu = cpus();
  return {
    gitCommit: gitCommit(),
    startedAt: start.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    seconds: (Date.now() - start.startedAt.getTime()) / 1000,
    argv: start.argv.map(portableArg),
    machine: {
      cpu: cpu[0]?.model ?? 'unknown',
      cores: cpu.length,
      memoryBytes: totalmem(),
      freeMemoryBytesAtEnd: freemem(),
      platform: `${process.platform}-${process.arch}`,
      loadAverage: { start: start.loadAverage, end: loadavg() },
    },
    versions: versions(),
  };
}

/** The full result.json record of an output. */
export function resultRecord(experiment: string, output: ExperimentOutput, start: RunStart) {
  // Paths of this machine may hide in any field (an error message, a merged directory).
  return portableValue({
    format: RESULT_FORMAT,
    experiment,
    ...output.result,
    run: runMetadata(start),
  });
}

/** Writes an output's files to `dir`; returns the names written. */
export function writeOutput(
  dir: string,
  experiment: string,
  output: ExperimentOutput,
  start: RunStart,
): string[] {
  const record = resultRecord(experiment, output, start);
  writeAtomic(dir, 'result.json', `${JSON.stringify(record, null, 2)}\n`);
  writeAtomic(dir, 'result.md', `${portableText(output.markdown).trimEnd()}\n`);
  const names = ['result.json', 'result.md'];
  for (const plot of output.plots ?? []) {
    writeAtomic(dir, plot.file, plot.svg);
    names.push(plot.file);
  }
  for (const file of output.files ?? []) {
    writeAtomic(dir, file.file, file.content);
    names.push(file.file);
  }
  return names;
}
