import { basename } from 'node:path';
import { LetheError } from '@lethe/core';
import { type CsvRow, parseCsvRows, parseNumber } from './csv-rows.js';
import { createDataset, type DatasetSplit } from './dataset.js';
import { readMaybeGzipped } from './read-file.js';
import { trainTestSplit } from './split.js';
import {
  applyStandardization,
  fitStandardization,
  type Standardization,
} from './standardization.js';

export interface LoadCsvOptions {
  /**
   * The label column: its header name, or its 0-based index (negative counts from the end, so
   * -1 is the last column). Every other column is a numeric feature.
   */
  readonly label: string | number;
  /** Share of each class held out for testing (stratified). Default 0.2. */
  readonly testFraction?: number;
  /** Seed of the train/test split. Default 0. */
  readonly seed?: number;
  /** Standardise features with the training set's mean and std. Default true. */
  readonly standardize?: boolean;
  /**
   * 'sklearn': the first line is scikit-learn's `n_samples,n_features,class names...`;
   * 'plain': it is not; 'auto' (default): recognise it by its shape and counts.
   */
  readonly format?: 'auto' | 'plain' | 'sklearn';
  /** Whether a row of column names comes first. Default: yes when a feature cell is not a number. */
  readonly header?: boolean;
  /** One character. Default ','. Files may be gzip-compressed. */
  readonly delimiter?: string;
  /** Dataset name; defaults to the file name without .csv / .gz. */
  readonly name?: string;
}

/** A CSV split, with the statistics fitted on the training set when standardising. */
export interface CsvDatasetSplit extends DatasetSplit {
  readonly standardization?: Standardization;
}

interface SklearnHeader {
  readonly samples: number;
  readonly features: number;
  readonly classNames: string[];
}

const isCount = (cell: string | undefined): boolean => cell !== undefined && /^\d+$/.test(cell);

/**
 * scikit-learn's bundled CSVs start with `n_samples,n_features,name,...`. In 'auto' mode the
 * line counts as such when its first two cells are counts, the rest are not numbers, and either
 * its width differs from the data's or its counts match the file; a plain data row rarely passes.
 */
function detectSklearnHeader(rows: CsvRow[], format: string, file: string): SklearnHeader | null {
  const first = rows[0]!;
  const [samples, features, ...rest] = first.cells;
  const shaped = isCount(samples) && isCount(features);
  const namesOnly = rest.every((cell) => parseNumber(cell) === undefined);
  if (format === 'plain') return null;
  if (format === 'sklearn' && !shaped) {
    throw new LetheError(
      'invalid-argument',
      `${file}: line ${first.line}: format 'sklearn' needs a first line ` +
        `'n_samples,n_features,class names...', found '${first.cells.join(',')}'. ` +
        "Use format 'plain' for an ordinary CSV.",
    );
  }
  if (format === 'auto') {
    if (!shaped || !namesOnly) return null;
    const width = rows[1]?.cells.length;
    const countsMatch =
      Number(features) + 1 === width &&
      (Number(samples) === rows.length - 1 || Number(samples) === rows.length - 2);
    if (width === first.cells.length && !countsMatch) return null;
  }
  return {
    samples: Number(samples),
    features: Number(features),
    classNames: rest.filter((cell) => cell !== ''),
  };
}

function resolveLabelColumn(label: string | number, columns: string[], file: string): number {
  if (typeof label === 'string') {
    const index = columns.indexOf(label);
    if (index < 0) {
      throw new LetheError(
        'invalid-argument',
        `${file}: no column named '${label}'. Columns: ${columns.map((c) => `'${c}'`).join(', ')}; pass one of them as label.`,
      );
    }
    return index;
  }
  if (!Number.isInteger(label) || label < -columns.length || label >= columns.length) {
    throw new LetheError(
      'invalid-argument',
      `${file}: label column ${label} does not exist; the file has ${columns.length} columns ` +
        `(use 0..${columns.length - 1}, or -1 for the last).`,
    );
  }
  return label < 0 ? columns.length + label : label;
}

/** Distinct label values mapped to 0..C-1: numerically sorted when all are numbers, else by text. */
function labelIndex(values: string[]): string[] {
  const distinct = [...new Set(values)];
  if (distinct.every((v) => parseNumber(v) !== undefined)) {
    return distinct.sort((a, b) => Number(a) - Number(b));
  }
  return distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Loads a CSV of numeric features and one label column, splits it (seeded, stratified) into
 * train and test, and standardises both with the training set's statistics.
 */
export function loadCsv(path: string, options: LoadCsvOptions): CsvDatasetSplit {
  const file = path;
  const text = readMaybeGzipped(path, 'CSV file').toString('utf8');
  const rows = parseCsvRows(text, options.delimiter ?? ',', file);
  if (rows.length === 0)
    throw new LetheError(
      'invalid-file',
      `${file}: the CSV file is empty; check the path, or write one row per sample.`,
    );

  const sklearn = detectSklearnHeader(rows, options.format ?? 'auto', file);
  if (sklearn !== null) rows.shift();
  if (rows.length === 0)
    throw new LetheError(
      'invalid-file',
      `${file}: the CSV file has no data rows, only a first line; add one row per sample.`,
    );

  const width = rows[0]!.cells.length;
  const provisionalLabel =
    typeof options.label === 'number' && Number.isInteger(options.label)
      ? (options.label + width) % width
      : -1;
  const looksLikeHeader = rows[0]!.cells.some(
    (cell, c) => c !== provisionalLabel && parseNumber(cell) === undefined,
  );
  const hasHeader = options.header ?? (typeof options.label === 'string' || looksLikeHeader);
  if (typeof options.label === 'string' && !hasHeader) {
    throw new LetheError(
      'invalid-argument',
      `${file}: label column '${options.label}' is given by name but the file has no header ` +
        'row; pass its 0-based index instead.',
    );
  }
  const columns = hasHeader
    ? rows.shift()!.cells
    : Array.from({ length: width }, (_, c) => `column ${c}`);
  if (rows.length === 0)
    throw new LetheError(
      'invalid-file',
      `${file}: the CSV file has no data rows, only a first line; add one row per sample.`,
    );
  const labelColumn = resolveLabelColumn(options.label, columns, file);

  for (const row of rows) {
    if (row.cells.length !== columns.length) {
      throw new LetheError(
        'invalid-file',
        `${file}: line ${row.line} has ${row.cells.length} cells but the file has ` +
          `${columns.length} columns. Every row needs one value per column.`,
      );
    }
  }
  if (sklearn !== null) {
    if (sklearn.samples !== rows.length) {
      throw new LetheError(
        'invalid-file',
        `${file}: its first line declares ${sklearn.samples} samples but ${rows.length} data ` +
          'rows follow; the file is truncated or edited. Restore it.',
      );
    }
    if (sklearn.features !== columns.length - 1) {
      throw new LetheError(
        'invalid-file',
        `${file}: its first line declares ${sklearn.features} features but rows have ` +
          `${columns.length - 1} besides the label; restore the file, or load it with format 'plain'.`,
      );
    }
  }

  const d = columns.length - 1;
  const x = new Float32Array(rows.length * d);
  const rawLabels: string[] = [];
  rows.forEach((row, r) => {
    let j = 0;
    row.cells.forEach((cell, c) => {
      if (c === labelColumn) return;
      const value = parseNumber(cell);
      if (value === undefined) {
        const what = cell === '' ? 'is empty (a missing value)' : `'${cell}' is not a number`;
        throw new LetheError(
          'invalid-file',
          `${file}: row ${r + 1} (line ${row.line}), column ${c + 1} ('${columns[c]}'): ` +
            `${what}. Feature columns must be numeric; fill, drop or encode it.`,
        );
      }
      x[r * d + j++] = value;
    });
    const label = row.cells[labelColumn]!;
    if (label === '') {
      throw new LetheError(
        'invalid-file',
        `${file}: row ${r + 1} (line ${row.line}), column ${labelColumn + 1} ` +
          `('${columns[labelColumn]}'): the label is empty. Fill or drop the row.`,
      );
    }
    rawLabels.push(label);
  });
  // Numeric labels must be class indices: a fraction means the column holds something else.
  if (rawLabels.every((label) => parseNumber(label) !== undefined)) {
    const r = rawLabels.findIndex((label) => !Number.isInteger(Number(label)));
    if (r >= 0) {
      throw new LetheError(
        'invalid-file',
        `${file}: row ${r + 1} (line ${rows[r]!.line}), column ${labelColumn + 1} ` +
          `('${columns[labelColumn]}'): label ${rawLabels[r]} is not a whole number, so it is no ` +
          'class index. Pick the class column with the label option, or bin the values into classes first.',
      );
    }
  }

  const labelValues = labelIndex(rawLabels);
  const toClass = new Map(labelValues.map((value, c) => [value, c]));
  // sklearn files store class indices 0..C-1 and name the classes on their first line.
  const sklearnNames =
    sklearn !== null &&
    sklearn.classNames.length === labelValues.length &&
    labelValues.every((value, c) => Number(value) === c);
  const all = createDataset({
    name: options.name ?? basename(path).replace(/(\.csv)?(\.gz)?$/i, ''),
    x,
    y: Int32Array.from(rawLabels, (label) => toClass.get(label)!),
    featureShape: [d],
    numClasses: labelValues.length,
    classNames: sklearnNames ? sklearn.classNames : labelValues,
  });
  const split = trainTestSplit(all, {
    testFraction: options.testFraction ?? 0.2,
    seed: options.seed ?? 0,
  });
  if (options.standardize === false) return split;
  const standardization = fitStandardization(split.train);
  return {
    train: applyStandardization(split.train, standardization),
    test: applyStandardization(split.test, standardization),
    standardization,
  };
}
