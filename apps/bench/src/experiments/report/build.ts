// The report's page: one section per experiment kind the report knows, then the results it
// does not know (listed with their metadata and result.md's tables, never an error).
import { ablateSection } from './ablate.js';
import { certifySection } from './certify.js';
import { compareSection } from './compare.js';
import { escapeHtml, markdownToHtml, page } from './html.js';
import { kernelsSection } from './kernels.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';
import { miaSection } from './mia.js';
import { scaleSection } from './scale.js';
import { serveSection } from './serve.js';
import { verifySection } from './verify.js';

/** The kinds the report draws, in the order of the page. */
export const KNOWN_KINDS: Readonly<Record<string, (r: readonly LoadedResult[]) => string>> = {
  verify: verifySection,
  compare: compareSection,
  certify: certifySection,
  mia: miaSection,
  kernels: kernelsSection,
  ablate: ablateSection,
  serve: serveSection,
  scale: scaleSection,
};

export interface BuiltReport {
  readonly html: string;
  /** Results per known kind. */
  readonly drawn: Readonly<Record<string, number>>;
  /** Results the report does not know (or could not read): listed only. */
  readonly listed: readonly LoadedResult[];
}

function listedSection(listed: readonly LoadedResult[]): string {
  if (listed.length === 0) return '';
  return [
    heading(2, 'Other results', 'other'),
    '<p class="note">Results of kinds this report does not draw, or that could not be read: their metadata and result.md.</p>',
    ...listed.map((r) =>
      [
        heading(3, `${r.name}: ${r.experiment ?? 'unknown kind'}`),
        r.problem ? `<p class="note">Not read: ${escapeHtml(r.problem)}</p>` : '',
        r.markdown ? markdownToHtml(r.markdown) : '<p class="note">No result.md.</p>',
        r.record ? metadataBlock([r]) : '',
      ].join('\n'),
    ),
  ].join('\n');
}

export function buildReport(results: readonly LoadedResult[], title: string): BuiltReport {
  const byKind = new Map<string, LoadedResult[]>();
  const listed: LoadedResult[] = [];
  for (const r of results) {
    // A report among the inputs (e.g. docs/results/report) is this page's own output.
    if (r.experiment === 'report') continue;
    if (r.record === undefined || r.experiment === undefined || !(r.experiment in KNOWN_KINDS)) {
      listed.push(r);
    } else {
      byKind.set(r.experiment, [...(byKind.get(r.experiment) ?? []), r]);
    }
  }
  const sections: string[] = [];
  const drawn: Record<string, number> = {};
  for (const [kind, render] of Object.entries(KNOWN_KINDS)) {
    const group = byKind.get(kind);
    if (!group) continue;
    // A record of a known kind in a shape the page cannot draw (another version's, or damaged)
    // is listed with the reason instead of failing the whole report.
    const drawable = group.filter((r) => {
      try {
        render([r]);
        return true;
      } catch (error) {
        listed.push({ ...r, problem: `cannot draw it as ${kind}: ${(error as Error).message}` });
        return false;
      }
    });
    if (drawable.length === 0) continue;
    drawn[kind] = drawable.length;
    sections.push(`<section id="${kind}">`, heading(2, kind), render(drawable), '</section>');
  }
  sections.push(listedSection(listed));
  const nav = [
    ...Object.entries(drawn).map(([k, n]) => `<li><a href="#${k}">${k}</a> (${n})</li>`),
    ...(listed.length > 0
      ? [`<li><a href="#other">other results</a> (${listed.length})</li>`]
      : []),
  ];
  const read = results.filter((r) => r.experiment !== 'report');
  const intro = `<p class="note">${read.length} result director${read.length === 1 ? 'y' : 'ies'}: ${escapeHtml(
    read.map((r) => r.dir).join(', '),
  )}. Written by <code>pnpm bench report</code>; every number comes from the results' result.json.</p>
<nav><ul>${nav.join('')}</ul></nav>`;
  return { html: page(title, intro, sections), drawn, listed };
}
