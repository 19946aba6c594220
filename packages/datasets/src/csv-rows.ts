import { LetheError } from '@lethe/core';
/** One parsed CSV record and the 1-based line it starts on (for error messages). */
export interface CsvRow {
  readonly line: number;
  readonly cells: string[];
}

/**
 * Splits CSV text into rows of cells: RFC 4180 quoting (`"a,b"`, `""` for a quote), LF or CRLF
 * line ends, blank lines skipped, whitespace around unquoted cells trimmed.
 */
export function parseCsvRows(text: string, delimiter: string, file: string): CsvRow[] {
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new LetheError(
      'invalid-argument',
      `CSV delimiter must be one character other than a quote or newline, got ${JSON.stringify(delimiter)}; pass e.g. ',' or ';'.`,
    );
  }
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false; // the current cell was quoted, so keep its inner whitespace
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // byte-order mark
  const endCell = (): void => {
    cells.push(quoted ? cell : cell.trim());
    cell = '';
    quoted = false;
  };
  const endRow = (): void => {
    endCell();
    if (cells.length > 1 || cells[0] !== '') rows.push({ line: rowLine, cells });
    cells = [];
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' && cell.trim() === '' && !quoted) {
      // A quoted cell runs to the next lone quote, newlines and delimiters included.
      const startLine = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) {
          throw new LetheError(
            'invalid-file',
            `${file}: line ${startLine}: a quoted cell is never closed. Add the closing quote.`,
          );
        }
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (c === '\n') line++;
        value += c;
        i++;
      }
      cell = value;
      quoted = true;
      continue;
    }
    if (ch === delimiter) {
      endCell();
    } else if (ch === '\n' || ch === '\r') {
      endRow();
      if (ch === '\r' && text[i + 1] === '\n') i++;
      line++;
      rowLine = line;
    } else if (!quoted) {
      cell += ch;
    } else if (ch.trim() !== '') {
      throw new LetheError(
        'invalid-file',
        `${file}: line ${line}: text after the closing quote of a quoted cell. ` +
          'Quote the whole cell and double any quote inside it ("").',
      );
    }
    i++;
  }
  endRow();
  return rows;
}

/** Parses a numeric cell; undefined when it is not a finite number. */
export function parseNumber(cell: string): number | undefined {
  if (cell === '') return undefined;
  const value = Number(cell);
  return Number.isFinite(value) ? value : undefined;
}
