import { LetheError } from '@lethe/core';
import { defineExperiment } from '../../experiment.js';
import { buildReport } from './build.js';
import { loadResults } from './load.js';

interface ReportFlags {
  readonly inputs: readonly string[];
  readonly title: string;
}

export const report = defineExperiment<ReportFlags>({
  name: 'report',
  summary: 'one self-contained index.html of result directories: tables, plots, run metadata',
  description: `Reads result directories written by the other experiments (--out DIR) and writes
one self-contained DIR/index.html: each experiment's tables and plots (inline SVG, no script, no
network), mean and spread over seeds as bands or error bars, and each run's metadata. Results of
a kind the report does not draw are listed with their result.md, not refused. Seconds.
Example: pnpm bench report --in docs/results --out docs/results/report`,
  flags: {
    in: {
      type: 'strings',
      arg: 'DIR,...',
      help: 'result directories, or directories of them (comma-separated)',
    },
    out: { type: 'string', arg: 'DIR', help: 'write index.html (and result.json, result.md) here' },
    title: { type: 'string', help: 'the page title', default: 'Lethe bench results' },
  },
  resolve(v) {
    const inputs = v.strings('in');
    if (inputs === undefined || !v.has('out')) {
      throw new LetheError(
        'invalid-argument',
        'report needs --in DIR[,DIR...] (result directories) and --out DIR (where index.html goes).',
      );
    }
    return { inputs, title: v.string('title') ?? 'Lethe bench results' };
  },
  async run(flags) {
    const results = loadResults(flags.inputs).filter((r) => r.experiment !== 'report');
    const built = buildReport(results, flags.title);
    const kinds = Object.entries(built.drawn).map(([k, n]) => `${k} ${n}`);
    const listed = built.listed.map((r) => `${r.name} (${r.problem ?? r.experiment ?? 'unknown'})`);
    const summary = [
      `report: ${results.length} results; drawn: ${kinds.join(', ') || 'none'}`,
      listed.length > 0 ? `listed only (kind not drawn or unreadable): ${listed.join(', ')}` : '',
    ]
      .filter((l) => l !== '')
      .join('\n');
    return {
      result: {
        inputs: results.map((r) => ({ dir: r.dir, experiment: r.experiment ?? null })),
        drawn: built.drawn,
        listed: built.listed.map((r) => r.dir),
      },
      markdown: `# report\n\n${summary}\n\nSee index.html.\n`,
      summary,
      files: [{ file: 'index.html', content: built.html }],
    };
  },
});
