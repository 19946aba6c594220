import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { dataPresent } from '@lethe/vitest-config/data';
import { describe, expect, it } from 'vitest';
import { type Dataset, loadCsv, SKLEARN_DEBIAN_DATA_DIR } from '../src/index.js';
import { classCounts, meanStd, tempDir } from './fixtures.js';

function writeTemp(name: string, text: string | Buffer): string {
  const path = join(tempDir(), name);
  writeFileSync(path, text);
  return path;
}

/** 40 rows: two features with offsets far from 0, a constant one, and a text label. */
function flowersCsv(): string {
  const lines = ['width,"petal length",species,const'];
  for (let i = 0; i < 40; i++) {
    const species = ['setosa', 'virginica', 'versicolor'][i % 3];
    lines.push(`${100 + ((i * 7) % 13)},${-50 + ((i * 5) % 11) * 0.5},${species},3`);
  }
  return `${lines.join('\n')}\n`;
}

function column(ds: Dataset, j: number): number[] {
  const d = ds.featureShape[0]!;
  return Array.from({ length: ds.n }, (_, i) => ds.x[i * d + j]!);
}

describe('loadCsv', () => {
  it('reads features and a named label column, mapping labels to sorted class indices', () => {
    const path = writeTemp('flowers.csv', flowersCsv());
    const { train, test } = loadCsv(path, { label: 'species', standardize: false });
    expect(train.name).toBe('flowers');
    expect(train.featureShape).toEqual([3]); // width, petal length, const
    expect(train.numClasses).toBe(3);
    expect(train.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(train.n + test.n).toBe(40);
    expect(test.n).toBe(8); // 20%
    // Classes 14/13/13 -> test quotas 3/3/2 (largest remainder).
    expect(classCounts(test.y, 3).sort()).toEqual([2, 3, 3]);
    // Every (features, label) pair of the file comes back exactly once.
    const expected = flowersCsv()
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => {
        const [w, l, s] = line.split(',');
        return `${Number(w)}|${Number(l)}|${s}`;
      })
      .sort();
    const got: string[] = [];
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.n; i++) {
        got.push(`${ds.x[i * 3]}|${ds.x[i * 3 + 1]}|${ds.classNames![ds.y[i]!]}`);
        expect(ds.x[i * 3 + 2]).toBe(3);
      }
    }
    expect(got.sort()).toEqual(expected);
  });

  it('finds the label by index, negative from the end, with the same result as by name', () => {
    const path = writeTemp('flowers.csv', flowersCsv());
    const byName = loadCsv(path, { label: 'species', seed: 3 });
    const byIndex = loadCsv(path, { label: 2, seed: 3 });
    const fromEnd = loadCsv(path, { label: -2, seed: 3 });
    for (const other of [byIndex, fromEnd]) {
      expect(other.train.x).toEqual(byName.train.x);
      expect(other.train.y).toEqual(byName.train.y);
      expect(other.test.x).toEqual(byName.test.x);
    }
  });

  it('splits deterministically for a seed and differently for another', () => {
    const path = writeTemp('flowers.csv', flowersCsv());
    const a = loadCsv(path, { label: 'species', seed: 1 });
    const b = loadCsv(path, { label: 'species', seed: 1 });
    const c = loadCsv(path, { label: 'species', seed: 2 });
    expect(b.test.x).toEqual(a.test.x);
    expect(b.train.y).toEqual(a.train.y);
    expect(c.test.x).not.toEqual(a.test.x);
    expect(loadCsv(path, { label: 'species', testFraction: 0.5 }).test.n).toBe(20);
  });

  it('standardises both halves with training statistics only', () => {
    const path = writeTemp('flowers.csv', flowersCsv());
    const raw = loadCsv(path, { label: 'species', seed: 5, standardize: false });
    const { train, test, standardization } = loadCsv(path, { label: 'species', seed: 5 });
    expect(standardization).toBeDefined();
    for (let j = 0; j < 2; j++) {
      const trainRaw = meanStd(column(raw.train, j));
      expect(standardization!.mean[j]).toBeCloseTo(trainRaw.mean, 10);
      expect(standardization!.std[j]).toBeCloseTo(trainRaw.std, 10);
      // Train: mean ~0, std ~1.
      const trainStats = meanStd(column(train, j));
      expect(Math.abs(trainStats.mean)).toBeLessThan(1e-6);
      expect(trainStats.std).toBeCloseTo(1, 5);
      // Test: the float64 reference of (x - train mean) / train std, which is not centred.
      const testRaw = column(raw.test, j);
      const testStd = column(test, j);
      testRaw.forEach((v, i) => {
        expect(testStd[i]).toBeCloseTo((v - trainRaw.mean) / trainRaw.std, 5);
      });
      expect(Math.abs(meanStd(testStd).mean)).toBeGreaterThan(1e-3);
    }
    // A constant feature maps to 0 rather than dividing by zero.
    expect(column(train, 2).every((v) => v === 0)).toBe(true);
    expect(column(test, 2).every((v) => v === 0)).toBe(true);
  });

  it('reads the scikit-learn format (n_samples,n_features,class names) by autodetection', () => {
    const rows = ['6,2,class_a,class_b,class_c'];
    for (let i = 0; i < 6; i++) rows.push(`${i + 0.5},${10 * i},${i % 3}`);
    const path = writeTemp('tiny_sklearn.csv', `${rows.join('\n')}\n`);
    for (const format of ['auto', 'sklearn'] as const) {
      const { train, test } = loadCsv(path, {
        label: -1,
        format,
        standardize: false,
        testFraction: 0.5,
      });
      expect(train.featureShape).toEqual([2]);
      expect(train.numClasses).toBe(3);
      expect(train.classNames).toEqual(['class_a', 'class_b', 'class_c']);
      expect(train.n + test.n).toBe(6);
      for (const ds of [train, test]) {
        for (let i = 0; i < ds.n; i++) {
          const row = ds.x[i * 2]! - 0.5; // feature 0 is row + 0.5
          expect(ds.x[i * 2 + 1]).toBe(10 * row);
          expect(ds.y[i]).toBe(row % 3);
        }
      }
    }
  });

  it('reads an sklearn first line followed by a row of column names', () => {
    const text = '4,2,,\nA,B,target\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n';
    const { train } = loadCsv(writeTemp('boston_like.csv', text), {
      label: 'target',
      testFraction: 0.5,
    });
    expect(train.n).toBe(2);
    expect(train.classNames).toEqual(['0', '1']);
  });

  it('treats a first row that merely starts with two integers as data in auto mode', () => {
    const text = '5,3,setosa\n6,1,virginica\n7,2,setosa\n8,4,virginica\n';
    const { train, test } = loadCsv(writeTemp('plain.csv', text), {
      label: -1,
      standardize: false,
      testFraction: 0.5,
    });
    expect(train.n + test.n).toBe(4);
    const plainForced = loadCsv(writeTemp('plain.csv', text), {
      label: -1,
      format: 'plain',
      standardize: false,
      testFraction: 0.5,
    });
    expect(plainForced.train.n + plainForced.test.n).toBe(4);
  });

  it('reads gzipped CSV, CRLF line ends, quoted cells and other delimiters', () => {
    const text = 'a;"b; quoted";label\r\n1;2;x\r\n3;4;y\r\n5;6;x\r\n7;8;y\r\n';
    const path = writeTemp('semi.csv.gz', gzipSync(text));
    const { train, test } = loadCsv(path, { label: 'label', delimiter: ';', testFraction: 0.5 });
    expect(train.name).toBe('semi');
    expect(train.n + test.n).toBe(4);
    expect(train.classNames).toEqual(['x', 'y']);
  });
});

describe('loadCsv errors name the file and the problem', () => {
  it('a non-numeric cell: row and column', () => {
    const path = writeTemp('bad.csv', 'a,b,label\n1,2,0\n3,oops,1\n');
    expect(() => loadCsv(path, { label: 'label' })).toThrow(
      /bad.csv: row 2 \(line 3\), column 2 \('b'\): 'oops' is not a number/,
    );
  });

  it('an empty (missing) cell', () => {
    const path = writeTemp('gap.csv', '1,2,0\n3,,1\n');
    expect(() => loadCsv(path, { label: -1 })).toThrow(
      /gap.csv: row 2 \(line 2\), column 2 \('column 1'\): is empty \(a missing value\)/,
    );
  });

  it('an empty label', () => {
    const path = writeTemp('nolabel.csv', '1,2,0\n3,4,\n');
    expect(() => loadCsv(path, { label: -1 })).toThrow(
      /nolabel.csv: row 2 \(line 2\), column 3 .*the label is empty/,
    );
  });

  it('a row with the wrong number of cells', () => {
    const path = writeTemp('ragged.csv', 'a,b,label\n1,2,0\n3,4\n');
    expect(() => loadCsv(path, { label: 'label' })).toThrow(
      /ragged.csv: line 3 has 2 cells but the file has 3 columns/,
    );
  });

  it('a missing file', () => {
    const path = join(tempDir(), 'absent.csv');
    expect(() => loadCsv(path, { label: 0 })).toThrow(/CSV file not found: .*absent.csv/);
  });

  it('an empty file', () => {
    expect(() => loadCsv(writeTemp('empty.csv', '\n\n'), { label: 0 })).toThrow(
      /empty.csv: the CSV file is empty/,
    );
  });

  it('an unknown label column name, listing the columns', () => {
    const path = writeTemp('cols.csv', 'a,b,label\n1,2,0\n');
    expect(() => loadCsv(path, { label: 'class' })).toThrow(
      /no column named 'class'. Columns: 'a', 'b', 'label'/,
    );
  });

  it('a label column index out of range', () => {
    const path = writeTemp('cols.csv', '1,2,0\n3,4,1\n');
    expect(() => loadCsv(path, { label: 3 })).toThrow(
      /label column 3 does not exist; the file has 3 columns/,
    );
  });

  it('a label given by name in a file without header', () => {
    const path = writeTemp('nohead.csv', '1,2,0\n3,4,1\n');
    expect(() => loadCsv(path, { label: 'label', header: false })).toThrow(
      /given by name but the file has no header row/,
    );
  });

  it('an sklearn file with fewer rows than its first line declares', () => {
    const path = writeTemp('short.csv', '5,2,c0,c1\n1,2,0\n3,4,1\n');
    expect(() => loadCsv(path, { label: -1 })).toThrow(
      /short.csv: its first line declares 5 samples but 2 data rows follow/,
    );
  });

  it("format 'sklearn' on a file without that first line", () => {
    const path = writeTemp('plain.csv', 'a,b,label\n1,2,0\n');
    expect(() => loadCsv(path, { label: -1, format: 'sklearn' })).toThrow(
      /format 'sklearn' needs a first line/,
    );
  });

  it('an unclosed quote', () => {
    const path = writeTemp('quote.csv', 'a,b,label\n1,"2,0\n');
    expect(() => loadCsv(path, { label: -1 })).toThrow(
      /quote.csv: line 2: a quoted cell is never closed/,
    );
  });

  it('too few samples to split', () => {
    const path = writeTemp('one.csv', '1,2,0\n');
    expect(() => loadCsv(path, { label: -1 })).toThrow(/leaves 1 for training and 0 for testing/);
  });

  it('a test fraction outside (0, 1)', () => {
    const path = writeTemp('flowers.csv', flowersCsv());
    expect(() => loadCsv(path, { label: 'species', testFraction: 1 })).toThrow(
      /testFraction must be between 0 and 1/,
    );
  });
});

const wine = join(SKLEARN_DEBIAN_DATA_DIR, 'wine_data.csv');
const winePresent = dataPresent(wine, 'python3-sklearn');
const wineTitle = winePresent
  ? `real wine data from ${wine}`
  : `real wine data: SKIPPED, ${wine} is missing (apt-get install -y python3-sklearn to run it)`;

describe.skipIf(!winePresent)(wineTitle, () => {
  it('loads 178 wines, 13 features, classes of 59/71/48, standardised on train', () => {
    const { train, test } = loadCsv(wine, { label: -1 });
    expect(train.name).toBe('wine_data');
    expect(train.n + test.n).toBe(178);
    expect(train.featureShape).toEqual([13]);
    expect(train.classNames).toEqual(['class_0', 'class_1', 'class_2']);
    const counts = classCounts(train.y, 3).map((c, k) => c + classCounts(test.y, 3)[k]!);
    expect(counts).toEqual([59, 71, 48]);
    for (let j = 0; j < 13; j++)
      expect(Math.abs(meanStd(column(train, j)).mean)).toBeLessThan(1e-5);
  });
});
