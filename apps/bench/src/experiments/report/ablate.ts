// ablate: the experiment's own tables (its result.md) and its plots, drawn again from the record.
import { ablatePlots } from '../ablate/report.js';
import type { AblateRecord } from '../ablate/run.js';
import { figure, markdownToHtml } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

/** result.md without its title: the report gives each result its own heading. */
export function bodyOf(markdown: string | undefined): string {
  return markdown ? markdownToHtml(markdown.replace(/^# .*\n/, '')) : '';
}

export function ablateSection(results: readonly LoadedResult[]): string {
  return results
    .map((r, i) => {
      const rec = r.record as unknown as AblateRecord;
      const missing = ['step-size', 'epochs', 'clip', 'decay'].filter(
        (a) => !rec.sweeps.some((s) => s.ablation === a),
      );
      return [
        heading(3, `ablate: ${r.name}`, `ablate-${i + 1}`),
        bodyOf(r.markdown),
        missing.length > 0
          ? `<p class="note">Not in this run: ${missing.join(', ')} (run with --ablations).</p>`
          : '',
        ...ablatePlots(rec).map((p) =>
          figure(p.svg, `${p.file}: one trained, unlearned and retrained run per point.`),
        ),
        metadataBlock([r]),
      ].join('\n');
    })
    .join('\n');
}
