// scale: precompute on the pg-boss queue against in-process recollect; seconds against worker
// processes beside perfect scaling.
import { chart, type Series } from '../../svg.js';
import type { ScaleResult } from '../scale/run.js';
import { bodyOf } from './ablate.js';
import { figure } from './html.js';
import type { LoadedResult } from './load.js';
import { heading, metadataBlock } from './meta.js';

export function scaleSection(results: readonly LoadedResult[]): string {
  return results
    .map((r, i) => {
      const rec = r.record as unknown as ScaleResult;
      const counts = rec.processes.map((p) => p.count);
      const one = rec.processes.find((p) => p.count === 1)?.seconds;
      const span = [Math.min(...counts), Math.max(...counts)];
      const series: Series[] = [
        {
          name: 'pg-boss workers',
          points: rec.processes.map((p) => [p.count, p.seconds] as const),
        },
        {
          name: 'in process, 1 thread',
          points: span.map((c) => [c, rec.inProcessSeconds] as const),
        },
        ...(one === undefined
          ? []
          : [{ name: 'perfect scaling', points: counts.map((c) => [c, one / c] as const) }]),
      ];
      return [
        heading(3, `scale: ${r.name}`, `scale-${i + 1}`),
        bodyOf(r.markdown),
        figure(
          chart(series, {
            title: `Precompute of ${rec.n} approximators (d = ${rec.d})`,
            xLabel: 'lethe-worker processes',
            yLabel: 'seconds',
          }),
          "Medians over the rounds; perfect scaling is one process's time over the count.",
        ),
        metadataBlock([r]),
      ].join('\n');
    })
    .join('\n');
}
