import { describe, expect, it } from 'vitest';
import { parseCsvRows, parseNumber } from '../src/csv-rows.js';

const cells = (text: string, delimiter = ','): string[][] =>
  parseCsvRows(text, delimiter, 'f.csv').map((row) => row.cells);

describe('parseCsvRows', () => {
  it('splits cells, trims unquoted ones and skips blank lines', () => {
    expect(cells('a, b ,c\n\n1,2,3\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
  });

  it('keeps delimiters, newlines, doubled quotes and spaces inside quoted cells', () => {
    expect(cells('"x, y","say ""hi""", " pad "\n"two\nlines",2,3')).toEqual([
      ['x, y', 'say "hi"', ' pad '],
      ['two\nlines', '2', '3'],
    ]);
  });

  it('handles CRLF, a byte-order mark and a last line without newline', () => {
    expect(cells('\ufeffa;b\r\n1;2', ';')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });

  it('reports the line each row starts on, counting newlines inside quotes', () => {
    const rows = parseCsvRows('a\n"b\nc"\n\nd\n', ',', 'f.csv');
    expect(rows.map((r) => r.line)).toEqual([1, 2, 5]);
  });

  it('keeps empty cells, so missing values can be reported', () => {
    expect(cells('1,,3\n,2,')).toEqual([
      ['1', '', '3'],
      ['', '2', ''],
    ]);
  });

  it('rejects text after a closing quote and unusable delimiters', () => {
    expect(() => cells('"a"b,c')).toThrow(/f.csv: line 1: text after the closing quote/);
    expect(() => cells('a,b', '"')).toThrow(/delimiter must be one character/);
    expect(() => cells('a,b', '::')).toThrow(/delimiter must be one character/);
  });
});

describe('parseNumber', () => {
  it('accepts finite numbers only', () => {
    expect(parseNumber('1.5e3')).toBe(1500);
    expect(parseNumber('-0.25')).toBe(-0.25);
    for (const bad of ['', 'abc', 'NaN', 'Infinity', '1,5', '0x'])
      expect(parseNumber(bad)).toBeUndefined();
  });
});
