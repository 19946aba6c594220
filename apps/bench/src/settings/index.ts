// The paper's named settings: one row of its configuration tables each (docs/method.md), so that
// `--setting NAME` reproduces a row and explicit flags override any of its values.
import { LetheError } from '@lethe/core';
import { SKLEARN_DEBIAN_DATA_DIR } from '@lethe/datasets';
import { PAPER_CNN, PAPER_LOGISTIC, type TrainConfig } from '@lethe/recollect';
import { PUBLISHED_WINE, type PublishedRow } from './published.js';

export interface Preset {
  readonly name: string;
  /** One line for --help. */
  readonly summary: string;
  /** A model registered with @lethe/autodiff. */
  readonly model: string;
  /** A --dataset spec. */
  readonly dataset: string;
  readonly n: number;
  readonly config: Omit<TrainConfig, 'seed'>;
  /** The paper's deletion counts for this row. */
  readonly deletions: readonly number[];
  /** verify's and certify's default --forget. */
  readonly forget: number;
  /** The seeds the authors' scripts run. */
  readonly seeds: readonly number[];
  /** Compute approximators of the forgotten ids only (the precompute of all n would take hours). */
  readonly lazy: boolean;
  /** What one verify run takes on this machine (2 shared cores, wasm). */
  readonly time: string;
  /** The authors' published numbers for this row, where they published any. */
  readonly published?: readonly PublishedRow[];
}

const { seed: _l, ...logistic } = PAPER_LOGISTIC;
const { seed: _c, ...cnn } = PAPER_CNN;
const FMNIST = { epochs: 30, batchSize: 256, lr: 0.5, lrDecay: 0.995, clip: 0.5, l2: 1e-6 };
const FMNIST_DELETIONS = [40, 200, 400, 600, 800, 1000, 1200];
/** The tabular rows: MLP in -> 64 -> classes. */
const TABULAR = { epochs: 40, batchSize: 64, lr: 0.01, lrDecay: 0.9995, clip: 10, l2: 0.005 };
const TABULAR_SEEDS = [42, 124, 3407, 114514, 5, 1];

export const PRESETS: readonly Preset[] = [
  {
    name: 'mnist-logistic',
    summary: 'logistic regression 784->10 on MNIST (the default)',
    model: 'logistic',
    dataset: 'mnist',
    n: 1000,
    config: logistic,
    deletions: [10, 50, 100, 200, 300],
    forget: 50,
    seeds: [42],
    lazy: false,
    time: 'verify ~20 s',
  },
  {
    name: 'mnist-cnn',
    summary: "the paper's CNN on MNIST (--model cnn)",
    model: 'cnn',
    dataset: 'mnist',
    n: 1000,
    config: cnn,
    deletions: [10, 50, 100, 200, 300],
    forget: 50,
    seeds: [42],
    lazy: true,
    time: 'verify lazy ~10 min (eager precompute ~17 min)',
  },
  {
    name: 'fmnist-cnn',
    summary: 'the CNN on Fashion-MNIST, n 4000 (Debian dataset-fashion-mnist)',
    model: 'cnn',
    dataset: 'fashion-mnist',
    n: 4000,
    config: FMNIST,
    deletions: FMNIST_DELETIONS,
    forget: 40,
    seeds: [42],
    lazy: true,
    time: 'verify lazy, 40 deletions ~2 h (extrapolated from 1 epoch; eager precompute: days)',
  },
  {
    name: 'fmnist-lenet',
    summary: 'LeNet (d = 61,706) on Fashion-MNIST, n 4000',
    model: 'lenet',
    dataset: 'fashion-mnist',
    n: 4000,
    config: FMNIST,
    deletions: FMNIST_DELETIONS,
    forget: 40,
    seeds: [42],
    lazy: true,
    time: 'verify lazy, 40 deletions ~2 h (extrapolated from 1 epoch; eager precompute: days)',
  },
  {
    name: 'wine-mlp',
    summary: 'MLP 13->64->3 on Wine (142 train / 36 test, python3-sklearn)',
    model: 'mlp',
    dataset: `csv:${SKLEARN_DEBIAN_DATA_DIR}/wine_data.csv`,
    n: 142,
    config: TABULAR,
    deletions: [7, 14],
    forget: 7,
    seeds: TABULAR_SEEDS,
    lazy: false,
    time: 'verify ~10 s; compare, 6 seeds 3-7 min',
    published: PUBLISHED_WINE,
  },
  {
    name: 'breast-cancer-mlp',
    summary: 'MLP 30->64->2 on Breast Cancer Wisconsin (455 train / 114 test, python3-sklearn)',
    model: 'mlp',
    dataset: `csv:${SKLEARN_DEBIAN_DATA_DIR}/breast_cancer.csv`,
    n: 455,
    config: TABULAR,
    deletions: [23, 46],
    forget: 23,
    seeds: TABULAR_SEEDS,
    lazy: false,
    time: 'verify ~2 min on the loaded machine (18 s of CPU)',
  },
  // A residual network (mnist-resnet) joins here once @lethe/autodiff has the model.
];

export const PRESET_NAMES: readonly string[] = PRESETS.map((p) => p.name);

/** The preset named, or an error listing the valid names. */
export function findPreset(name: string): Preset {
  const preset = PRESETS.find((p) => p.name === name);
  if (preset === undefined) {
    throw new LetheError(
      'invalid-argument',
      `--setting "${name}" is not a setting; the settings are ${PRESET_NAMES.join(', ')}.`,
    );
  }
  return preset;
}

/** The --setting flag (the settings themselves are listed by SETTINGS_HELP). */
export const SETTING_FLAG = {
  setting: {
    type: 'string' as const,
    choices: PRESET_NAMES,
    help: "a row of the paper's settings (listed above); explicit flags override its values",
  },
};

/** For --help: every setting, what it is, and how long it takes on this machine. */
export const SETTINGS_HELP = `\nSettings (--setting NAME; times on 2 shared cores, wasm):\n${PRESETS.map(
  (p) => `  ${p.name.padEnd(18)} ${p.summary}\n  ${''.padEnd(18)} ${p.time}`,
).join('\n')}`;
