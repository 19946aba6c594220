import { LetheError } from '@lethe/core';
import { makeBlobs } from './blobs.js';
import { loadCsv } from './csv.js';
import type { DatasetSplit } from './dataset.js';
import { FASHION_MNIST_DEBIAN_DIR, loadIdx } from './idx.js';
import { loadMnist } from './mnist.js';
import { FASHION_MNIST_NORMALIZATION } from './normalization.js';
import { trainTestSplit } from './split.js';

const SPEC_HELP =
  "Use 'mnist', 'fashion-mnist', 'idx:DIR', 'csv:FILE' (label = last column) or " +
  "'blobs[:n=600,features=2,classes=3,seed=0]'.";

function parseBlobsParams(text: string, spec: string): Record<string, number> {
  const params: Record<string, number> = { n: 600, features: 2, classes: 3, seed: 0 };
  if (text === '') return params;
  for (const pair of text.split(',')) {
    const [key, value] = pair.split('=');
    if (key === undefined || !(key in params) || value === undefined || value.trim() === '') {
      throw new LetheError(
        'invalid-argument',
        `Dataset spec '${spec}': '${pair}' is not one of n=, features=, classes=, seed=.`,
      );
    }
    const number = Number(value);
    if (!Number.isInteger(number)) {
      throw new LetheError(
        'invalid-argument',
        `Dataset spec '${spec}': ${key} must be an integer, got '${value}'.`,
      );
    }
    params[key] = number;
  }
  return params;
}

/**
 * Resolves a dataset spec as given to a --dataset flag:
 * - 'mnist': the bundled digits (loadMnist, normalised);
 * - 'fashion-mnist': Debian's Fashion-MNIST files, normalised with their own statistics;
 * - 'idx:DIR': loadIdx(DIR) with the default (MNIST) normalisation;
 * - 'csv:FILE': loadCsv(FILE) with the last column as label and the default split;
 * - 'blobs' or 'blobs:n=..,features=..,classes=..,seed=..': makeBlobs, 20% held out.
 */
export function loadDatasetSpec(spec: string): DatasetSplit {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const argument = colon < 0 ? '' : spec.slice(colon + 1);
  const needsArgument = (what: string): string => {
    if (argument === '')
      throw new LetheError(
        'invalid-argument',
        `Dataset spec '${spec}' needs ${what}. ${SPEC_HELP}`,
      );
    return argument;
  };
  switch (kind) {
    case 'mnist':
      if (argument !== '') break;
      return loadMnist();
    case 'fashion-mnist':
      if (argument !== '') break;
      return loadIdx(FASHION_MNIST_DEBIAN_DIR, {
        name: 'fashion-mnist',
        normalize: FASHION_MNIST_NORMALIZATION,
      });
    case 'idx':
      return loadIdx(needsArgument('a directory after idx:'));
    case 'csv':
      return loadCsv(needsArgument('a file after csv:'), { label: -1 });
    case 'blobs': {
      const { n, features, classes, seed } = parseBlobsParams(argument, spec);
      const blobs = makeBlobs({ n: n!, features: features!, classes: classes!, seed: seed! });
      return trainTestSplit(blobs, { testFraction: 0.2, seed: seed! });
    }
  }
  throw new LetheError('invalid-argument', `Unknown dataset spec '${spec}'. ${SPEC_HELP}`);
}
