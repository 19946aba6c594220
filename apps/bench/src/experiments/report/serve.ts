// serve: the deletion service under load; the experiment's own tables, and whether the after-run
// check of ledger, store and weights passed.
import type { ServeMeasurement } from '../serve/run.js';
import { bodyOf } from './ablate.js';
import { escapeHtml } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

export function serveSection(results: readonly LoadedResult[]): string {
  return results
    .map((r, i) => {
      const rec = r.record as unknown as Partial<ServeMeasurement>;
      const verdict =
        rec.consistent === true
          ? 'ledger, store and weights agreed exactly after the run'
          : '<strong>the after-run check of ledger, store and weights failed</strong>';
      return [
        heading(3, `serve: ${r.name}`, `serve-${i + 1}`),
        `<p class="note">${escapeHtml(`${rec.store ?? '?'} store, ${rec.model ?? '?'}`)}: ${verdict}.</p>`,
        bodyOf(r.markdown),
        metadataBlock([r]),
      ].join('\n');
    })
    .join('\n');
}
