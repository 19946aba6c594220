// Flags of one experiment: a table says each flag's type, range, default and help; parsing
// checks every value against it before any work starts, and refuses flags the experiment does
// not have, naming those it does.
import { accessSync, constants } from 'node:fs';
import { parseArgs } from 'node:util';
import { LetheError } from '@lethe/core';
import { makeDirectory } from './files.js';
import { SETTING_FLAG } from './settings/index.js';

export type FlagType =
  | 'string'
  | 'number'
  | 'integer'
  | 'boolean'
  | 'numbers'
  | 'integers'
  | 'strings';

export interface FlagDef {
  readonly type: FlagType;
  readonly help: string;
  /** The default as shown in --help (the experiment applies it). */
  readonly default?: string;
  /** Inclusive bounds for numbers (each element of a list). */
  readonly min?: number;
  readonly max?: number;
  /** Numbers strictly above min. */
  readonly exclusiveMin?: boolean;
  /** Allowed values for strings (each element of a list). */
  readonly choices?: readonly string[];
  /** The value's name in --help (e.g. DIR); by default its type's. */
  readonly arg?: string;
}

export type FlagTable = Readonly<Record<string, FlagDef>>;

type FlagValue = string | number | boolean | readonly number[] | readonly string[];

/** Parsed, checked flag values; getters return undefined for flags not given. */
export class FlagValues {
  constructor(
    private readonly table: FlagTable,
    private readonly values: ReadonlyMap<string, FlagValue>,
  ) {}

  has(name: string): boolean {
    return this.values.has(this.known(name));
  }
  string(name: string): string | undefined {
    return this.values.get(this.known(name)) as string | undefined;
  }
  number(name: string): number | undefined {
    return this.values.get(this.known(name)) as number | undefined;
  }
  boolean(name: string): boolean {
    return (this.values.get(this.known(name)) as boolean | undefined) ?? false;
  }
  numbers(name: string): readonly number[] | undefined {
    return this.values.get(this.known(name)) as readonly number[] | undefined;
  }
  strings(name: string): readonly string[] | undefined {
    return this.values.get(this.known(name)) as readonly string[] | undefined;
  }

  private known(name: string): string {
    if (!(name in this.table)) throw new Error(`bench: flag --${name} is not in the table`);
    return name;
  }
}

function invalid(message: string): LetheError {
  return new LetheError('invalid-argument', message);
}

function parseNumber(flag: string, def: FlagDef, text: string): number {
  const x = text.trim() === '' ? Number.NaN : Number(text);
  const integer = def.type === 'integer' || def.type === 'integers';
  if (!Number.isFinite(x) || (integer && !Number.isInteger(x))) {
    throw invalid(`--${flag} expects ${integer ? 'a whole number' : 'a number'}, got "${text}".`);
  }
  const low = def.min !== undefined && (def.exclusiveMin ? x <= def.min : x < def.min);
  if (low || (def.max !== undefined && x > def.max)) {
    const range = `${def.min === undefined ? '' : `${def.exclusiveMin ? '>' : '>='} ${def.min}`}${def.min !== undefined && def.max !== undefined ? ' and ' : ''}${def.max === undefined ? '' : `<= ${def.max}`}`;
    throw invalid(`--${flag} ${text} is out of range: use a value ${range}.`);
  }
  return x;
}

function parseString(flag: string, def: FlagDef, text: string): string {
  if (def.choices && !def.choices.includes(text)) {
    throw invalid(`--${flag} "${text}" is not one of ${def.choices.join(', ')}.`);
  }
  return text;
}

function parseOne(flag: string, def: FlagDef, raw: string | boolean): FlagValue {
  if (def.type === 'boolean') return raw as boolean;
  const text = raw as string;
  switch (def.type) {
    case 'string':
      return parseString(flag, def, text);
    case 'number':
    case 'integer':
      return parseNumber(flag, def, text);
    case 'numbers':
    case 'integers':
      return text.split(',').map((part) => parseNumber(flag, def, part));
    case 'strings':
      return text.split(',').map((part) => parseString(flag, def, part));
  }
}

/** Parses an experiment's arguments against its table; throws naming the flag and the fix. */
export function parseFlags(
  experiment: string,
  table: FlagTable,
  args: readonly string[],
): FlagValues {
  const options = Object.fromEntries(
    Object.entries(table).map(([name, def]) => [
      name,
      { type: def.type === 'boolean' ? ('boolean' as const) : ('string' as const) },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: false });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const unknown = /Unknown option '(--?[^']+)'/.exec(message)?.[1];
    if (unknown !== undefined) {
      throw invalid(
        `${experiment} has no flag ${unknown}; its flags are ${Object.keys(table)
          .map((f) => `--${f}`)
          .join(', ')} (pnpm bench ${experiment} --help).`,
      );
    }
    throw invalid(`${experiment}: ${message} (pnpm bench ${experiment} --help).`);
  }
  const values = new Map<string, FlagValue>();
  for (const [name, raw] of Object.entries(parsed.values)) {
    if (raw === undefined) continue;
    values.set(name, parseOne(name, table[name]!, raw as string | boolean));
  }
  return new FlagValues(table, values);
}

/** --help text of one experiment's flags. */
export function flagHelp(table: FlagTable): string {
  const rows = Object.entries(table).map(([name, def]) => {
    const arg =
      def.type === 'boolean'
        ? ''
        : def.arg !== undefined
          ? ` ${def.arg}`
          : ` ${def.type.endsWith('s') && def.type !== 'string' ? 'a,b,...' : def.choices ? def.choices.join('|') : def.type === 'string' ? 'TEXT' : 'N'}`;
    return [
      `--${name}${arg}`,
      `${def.help}${def.default === undefined ? '' : ` (default ${def.default})`}`,
    ] as const;
  });
  const width = Math.min(32, Math.max(...rows.map(([f]) => f.length)));
  return rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`).join('\n');
}

/** Makes sure --out names a directory the run can write to, before the run starts. */
export function checkOutputDirectory(dir: string): void {
  try {
    makeDirectory(dir);
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new LetheError(
      'io',
      `--out ${dir}: cannot write there (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass a directory you can create and write.`,
    );
  }
}

/** Flags every experiment has. */
export const COMMON_FLAGS: FlagTable = {
  backend: {
    type: 'string',
    choices: ['node', 'wasm', 'cpu'],
    help: 'tensor backend (or LETHE_BACKEND); default: the best that loads',
  },
  out: {
    type: 'string',
    arg: 'DIR',
    help: 'write result.json, result.md and plots to this directory',
  },
  quick: { type: 'boolean', help: 'a reduced preset that runs in seconds' },
};

/** Flags of the experiments that train a model on a data set. */
export const TRAINING_FLAGS: FlagTable = {
  ...SETTING_FLAG,
  model: {
    type: 'string',
    help: 'logistic, mlp, cnn, lenet, resnet (or a registered model)',
    default: 'logistic',
  },
  dataset: {
    type: 'string',
    help: 'mnist | fashion-mnist | idx:DIR | csv:FILE | blobs:n=..,features=..,classes=..',
    default: 'mnist',
  },
  n: {
    type: 'integer',
    min: 2,
    help: 'training samples',
    default: "1000 or the setting's (--quick at most 200)",
  },
  epochs: { type: 'integer', min: 1, help: 'epochs E', default: "the paper's for the model" },
  'batch-size': { type: 'integer', min: 1, help: 'batch size |B|', default: "the paper's" },
  lr: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    help: 'step size eta_0',
    default: "the paper's",
  },
  'lr-decay': {
    type: 'number',
    min: 0,
    max: 1,
    exclusiveMin: true,
    help: 'per-step decay q',
    default: "the paper's",
  },
  clip: {
    type: 'number',
    min: 0,
    exclusiveMin: true,
    help: 'gradient clipping norm C',
    default: "the paper's",
  },
  l2: { type: 'number', min: 0, help: 'L2 coefficient lambda', default: "the paper's" },
  seed: {
    type: 'integer',
    min: 0,
    max: 2 ** 32 - 1,
    help: 'seed of the subset, run and forget set',
    default: '42',
  },
};

/** The forget set and precompute threads of the experiments that unlearn from a precompute. */
export const UNLEARNING_FLAGS: FlagTable = {
  forget: {
    type: 'integer',
    min: 1,
    help: 'samples to forget',
    default: "50 or the setting's first deletion count (--quick at most 10)",
  },
  workers: {
    type: 'integer',
    min: 1,
    max: 64,
    help: 'worker threads for the precompute',
    default: '2',
  },
};
