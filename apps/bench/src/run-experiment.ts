// Runs one experiment from its command-line arguments: flags checked first (and --out made
// writable) before any work, then the run, then the one writer.
import type { Experiment, ExperimentOutput } from './experiment.js';
import { checkOutputDirectory, parseFlags } from './flags.js';
import { type RunStart, startRun, writeOutput } from './results.js';

export interface ExperimentRun {
  readonly output: ExperimentOutput;
  /** Files written to --out (none without it). */
  readonly written: readonly string[];
}

export async function runExperiment(
  experiment: Experiment<unknown>,
  args: readonly string[],
): Promise<ExperimentRun> {
  const values = parseFlags(experiment.name, experiment.flags, args);
  const flags = experiment.resolve(values);
  const out = values.string('out');
  if (out !== undefined) checkOutputDirectory(out);
  const start: RunStart = startRun([experiment.name, ...args]);
  const save = (output: ExperimentOutput) =>
    out === undefined ? [] : writeOutput(out, experiment.name, output, start);
  const output = await experiment.run(flags, {
    out,
    checkpoint(partial) {
      const files = save(partial);
      if (files.length > 0) process.stderr.write(`${experiment.name}: saved ${out} (so far)\n`);
    },
  });
  const written = save(output);
  return { output, written };
}
