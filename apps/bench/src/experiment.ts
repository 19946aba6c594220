import type { FlagTable, FlagValues } from './flags.js';

/** A plot the bench writes beside the result: a file name and its SVG. */
export interface Plot {
  readonly file: string;
  readonly svg: string;
}

/** What an experiment produced; the one writer (results.ts) turns it into files and output. */
export interface ExperimentOutput {
  /** The body of result.json (the writer adds the run's metadata). */
  readonly result: Readonly<Record<string, unknown>>;
  /** result.md, starting with a `# ` title line. */
  readonly markdown: string;
  /** What stdout shows when the run ends. */
  readonly summary: string;
  readonly plots?: readonly Plot[];
  /** Other files to write (e.g. a certificate). */
  readonly files?: readonly { readonly file: string; readonly content: string }[];
}

/** What the dispatcher hands a running experiment. */
export interface RunContext {
  /** The output directory (checked writable before the run starts), if any. */
  readonly out: string | undefined;
  /** Writes an intermediate output now, so an interrupted long run keeps what it measured. */
  checkpoint(output: ExperimentOutput): void;
}

/**
 * One experiment of the bench: its flags (with defaults and help), how they become a typed,
 * validated configuration (before any work starts), and the run, which returns an output.
 */
export interface Experiment<Flags = unknown> {
  readonly name: string;
  /** One line for the experiment list. */
  readonly summary: string;
  /** Paragraphs for `--help`. */
  readonly description: string;
  readonly flags: FlagTable;
  resolve(values: FlagValues): Flags;
  run(flags: Flags, context: RunContext): Promise<ExperimentOutput>;
}

/** Declares an experiment with its flag type inferred (the registry holds them untyped). */
export function defineExperiment<Flags>(experiment: Experiment<Flags>): Experiment<Flags> {
  return experiment;
}
