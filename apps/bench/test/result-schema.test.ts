import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { portableText, portableValue } from '../src/portable.js';
import { expectValidResult, validateResult } from './result-schema.js';

const docs = fileURLToPath(new URL('../../../docs/results/', import.meta.url));
const committed = readdirSync(docs, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .flatMap((d) => {
    try {
      return [[d.name, readFileSync(join(docs, d.name, 'result.json'), 'utf8')] as const];
    } catch {
      return [];
    }
  });

describe('result.json schema', () => {
  it('finds the committed results', () => {
    expect(committed.length).toBeGreaterThanOrEqual(5);
  });

  it.each(committed)('docs/results/%s follows the schema and names no absolute path', (_, text) => {
    expectValidResult(JSON.parse(text));
    // No path of the machine that measured it (a checkout, a temporary directory, a home).
    expect(text).not.toMatch(/(?<![\w./\\-])\/(work|tmp|home|root|Users|var)\/[\w.@+~-]/);
  });

  it('rejects a record without run metadata, with an absolute argv, or an unknown format', () => {
    const good = JSON.parse(committed.find(([name]) => name.startsWith('verify'))![1]);
    expect(validateResult(good)).toBe(true);
    const { run: _, ...noRun } = good;
    expect(validateResult(noRun)).toBe(false);
    expect(validateResult({ ...good, format: 2 })).toBe(false);
    expect(
      validateResult({ ...good, run: { ...good.run, argv: ['verify', '--out', '/tmp/x'] } }),
    ).toBe(false);
    expect(validateResult({ ...good, distance: { hf: 1 } })).toBe(false);
  });
});

describe('portable paths', () => {
  const root = '/srv/checkout';
  it('makes paths relative to the repository or reduces them to their last segment', () => {
    expect(portableText('not found at path: /srv/checkout/node_modules/x/y.node.', root)).toBe(
      'not found at path: node_modules/x/y.node.',
    );
    expect(portableText('merged /tmp/cnn/seed42 and idx:/data/mnist', root)).toBe(
      'merged <abs>/seed42 and idx:<abs>/mnist',
    );
  });

  it('leaves URLs, fractions and prose alone', () => {
    const prose =
      'see https://example.org/a/b, ratio 1/2, |B \\ U| / shift, MB/s, w/o clipping, POST /v1/deletions, GET /v1/deletions/:id';
    expect(portableText(prose, root)).toBe(prose);
  });

  it('walks nested records', () => {
    expect(portableValue({ a: ['/srv/checkout/a/b'], b: { c: 3, d: null } }, root)).toEqual({
      a: ['a/b'],
      b: { c: 3, d: null },
    });
  });
});
