// The report of the committed results (plus a result of a kind it does not draw and an
// unreadable one), opened in a real headless Chromium: it renders without console errors or
// requests, and every plot has visible marks.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumPresent } from '@lethe/vitest-config/chromium';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownToHtml } from '../src/experiments/report/html.js';
import { report } from '../src/experiments/report/index.js';
import { runExperiment } from '../src/run-experiment.js';
import { expectValidResult } from './result-schema.js';

const docs = fileURLToPath(new URL('../../../docs/results/', import.meta.url));

describe('bench report', () => {
  const work = mkdtempSync(join(tmpdir(), 'lethe-report-'));
  const extra = join(work, 'extra');
  const out = join(work, 'out');
  let summary = '';

  beforeAll(async () => {
    mkdirSync(join(extra, 'sweep-x'), { recursive: true });
    writeFileSync(
      join(extra, 'sweep-x', 'result.json'),
      JSON.stringify({ format: 1, experiment: 'sweep', points: [1, 2] }),
    );
    writeFileSync(
      join(extra, 'sweep-x', 'result.md'),
      '# sweep\n\n| step size | ratio |\n|---|---|\n| 0.05 \\| 0.1 | 0.3 |\n',
    );
    // A known kind in a shape the page cannot draw.
    mkdirSync(join(extra, 'ablate-old'), { recursive: true });
    writeFileSync(
      join(extra, 'ablate-old', 'result.json'),
      JSON.stringify({ format: 1, experiment: 'ablate', points: [1, 2] }),
    );
    mkdirSync(join(extra, 'broken'));
    writeFileSync(join(extra, 'broken', 'result.json'), '{ not json');
    const run = await runExperiment(report, ['--in', `${docs},${extra}`, '--out', out]);
    summary = run.output.summary;
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('draws every known kind and lists the others without failing', () => {
    // Every committed certify record is drawn (the logistic and the CNN one today).
    const certifyRecords = readdirSync(docs, { withFileTypes: true }).filter((entry) => {
      if (!entry.isDirectory()) return false;
      const path = join(docs, entry.name, 'result.json');
      return existsSync(path) && JSON.parse(readFileSync(path, 'utf8')).experiment === 'certify';
    }).length;
    expect(certifyRecords).toBeGreaterThanOrEqual(2);
    expect(summary).toMatch(
      new RegExp(`drawn: verify \\d+, compare \\d+, certify ${certifyRecords},`),
    );
    expect(summary).toMatch(/kernels 1, ablate \d+, serve \d+, scale 1/);
    expect(summary).toMatch(/listed only .*broken \(.*sweep-x \(sweep\)/);
    expect(summary).toMatch(/ablate-old \(cannot draw it as ablate: /);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    // Self-contained: no script, no external reference.
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    // The unknown kind's table, with its escaped bar kept inside the cell.
    expect(html).toContain('<td>0.05 | 0.1</td>');
    // Each verify setting shows mean ± std over its seeds.
    expect(html).toMatch(/mean ± std over 3 seeds/);
    expectValidResult(JSON.parse(readFileSync(join(out, 'result.json'), 'utf8')));
  });

  it.skipIf(!chromiumPresent)(
    'renders in headless Chromium without errors, and every plot has visible marks',
    async () => {
      // A fresh profile (Playwright passes it as --user-data-dir).
      const browser = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
        executablePath: CHROMIUM_PATH,
        args: [...CHROMIUM_ARGS],
      });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
        });
        page.on('pageerror', (e) => problems.push(e.message));
        page.on('request', (r) => requests.push(r.url()));
        const url = pathToFileURL(join(out, 'index.html')).href;
        await page.goto(url, { waitUntil: 'load' });
        const plots = await page.$$eval('figure.plot svg', (svgs) =>
          svgs.map((svg) => {
            // The callback runs in the page; the workspace compiles without the DOM's types.
            type Mark = {
              getBBox(): { width: number; height: number };
              getAttribute(n: string): string | null;
            };
            const marks = [...svg.querySelectorAll('.mark')].filter((el) => {
              const m = el as unknown as Mark;
              const box = m.getBBox();
              const d = m.getAttribute('d');
              // A path with a drawn segment, or a circle: some extent on screen.
              return (box.width > 0 || box.height > 0) && (d === null || d.length > 2);
            });
            const rect = svg.getBoundingClientRect();
            return {
              title: svg.querySelector('text')?.textContent ?? '?',
              marks: marks.length,
              width: rect.width,
              height: rect.height,
            };
          }),
        );
        expect(problems).toEqual([]);
        expect(requests).toEqual([url]);
        expect(plots.length).toBeGreaterThanOrEqual(15);
        for (const p of plots) {
          expect(p.marks, p.title).toBeGreaterThan(0);
          expect(p.width * p.height, p.title).toBeGreaterThan(0);
        }
        // The spread is drawn: bands or error bars in the plots over seeds.
        expect(await page.locator('svg .band, svg .error-bar').count()).toBeGreaterThan(0);
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});

describe('markdownToHtml', () => {
  it('keeps escaped bars inside cells and escapes HTML', () => {
    const html = markdownToHtml('| a | b |\n|---|---|\n| x \\| y | <b> |\n\ntext & more');
    expect(html).toContain('<td>x | y</td><td>&lt;b&gt;</td>');
    expect(html).toContain('<p>text &amp; more</p>');
  });
});
