import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LetheError } from '@lethe/core';
import type { CompareParts, CompareRun, NotRun } from './report.js';

/**
 * `pnpm bench compare --merge DIR1,DIR2,... --out DIR`: one report over runs made separately
 * (one seed per process or machine; one directory redraws its report). Runs of the same setting and seed must not repeat, and the
 * inputs must share backend and deletion counts.
 */
export function mergeCompare(dirs: readonly string[]): CompareParts {
  if (dirs.length < 1)
    throw new LetheError('invalid-argument', '--merge: name at least one result directory.');
  const inputs = dirs.map((dir) => {
    const file = join(dir, 'result.json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new LetheError(
        'invalid-argument',
        `--merge: cannot read ${file} (${err instanceof Error ? err.message : String(err)}): pass directories written by bench compare --out.`,
      );
    }
    const r = parsed as {
      experiment?: string;
      backendDetail?: CompareParts['backend'];
      flags?: Record<string, unknown>;
      totalSeconds?: number;
      notRun?: NotRun[];
      runs?: CompareRun[];
    };
    if (r.experiment !== 'compare' || !Array.isArray(r.runs))
      throw new LetheError('invalid-argument', `--merge: ${file} is not a bench compare result.`);
    return { dir, r };
  });
  const backends = new Set(inputs.map(({ r }) => r.backendDetail?.name));
  if (backends.size > 1)
    throw new LetheError(
      'invalid-argument',
      `--merge: the results come from different backends (${[...backends].join(', ')}): merge runs of one backend.`,
    );
  const seen = new Set<string>();
  const runs: CompareRun[] = [];
  for (const { dir, r } of inputs) {
    for (const run of r.runs!) {
      const key = `${run.setting} seed ${run.seed}`;
      if (seen.has(key))
        throw new LetheError(
          'invalid-argument',
          `--merge: ${key} appears twice (again in ${dir}).`,
        );
      seen.add(key);
      const counts = (x: CompareRun) => (x.methods[0]?.requests ?? []).map((q) => q.m).join(',');
      const other = runs.find((x) => x.setting === run.setting);
      if (other && counts(other) !== counts(run))
        throw new LetheError(
          'invalid-argument',
          `--merge: ${run.setting} runs differ in deletion counts (${counts(other)} vs ${counts(run)} in ${dir}): merge runs of one sweep.`,
        );
      runs.push(run);
    }
  }
  const notRun = new Map<string, NotRun>();
  for (const { r } of inputs)
    for (const x of r.notRun ?? []) notRun.set(`${x.setting}|${x.method}|${x.reason}`, x);
  return {
    complete: true,
    backend: inputs[0]!.r.backendDetail,
    flags: {
      ...inputs[0]!.r.flags,
      seeds: new Set(runs.map((x) => x.seed)).size,
      seed: undefined,
      merged: dirs,
    },
    totalSeconds: inputs.reduce((a, { r }) => a + (r.totalSeconds ?? 0), 0),
    notRun: [...notRun.values()],
    runs,
    mergedFrom: dirs,
  };
}
