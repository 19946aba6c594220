import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  fineTune,
  hessianFree,
  infinitesimalJackknife,
  negativeGradient,
  newtonStep,
  type UnlearningMethod,
} from '@lethe/baselines';
import { retrain, train } from '@lethe/recollect';
import { accuracy, backendRecord, l2Distance, versions } from './common.js';
import {
  aggregate,
  type CompareRun,
  chartsFor,
  type MethodRun,
  markdownReport,
  type NotRun,
} from './compare-report.js';
import { progressLine, writeAtomic } from './report.js';
import { chooseForgetSet, type ExperimentFlags, resolveConfig, setUp } from './setup.js';

/** The paper's deletion sweep. */
export const PAPER_DELETIONS = [10, 50, 100, 200, 300] as const;
const SETTINGS = ['logistic', 'cnn'] as const;
type Setting = (typeof SETTINGS)[number];
export const ALL_METHODS = [
  'hessian-free',
  'hessian-free-2',
  'newton',
  'jackknife',
  'newton-cg',
  'jackknife-cg',
  'newton-cg@batch',
  'fine-tune',
  'negative-gradient',
] as const;
type MethodName = (typeof ALL_METHODS)[number];

/** Methods the CNN setting runs only when --methods names them, and why. */
const CNN_OPT_IN = {
  'hessian-free-2':
    'second-order pass over the CNN trajectory: ~155 s per request here (--methods hessian-free-2 to include)',
  'newton-cg@batch':
    'a diagnostic of the Newton step normalisation, not a method of the paper; a third CG solve per request on the CNN (--methods newton-cg@batch to include)',
} as const;

/** The quick preset: logistic regression on small Gaussian blobs (d = 84), 2 seeds. */
export const QUICK = {
  dataset: 'blobs:n=300,features=20,classes=4,seed=1',
  deletions: [5, 10, 20],
  seeds: 2,
} as const;

export interface CompareFlags {
  readonly settings: readonly string[];
  readonly dataset?: string;
  readonly deletions?: readonly number[];
  readonly seeds?: number;
  readonly seed: number;
  readonly methods?: readonly string[];
  readonly workers?: number;
  /** Run the explicit-Hessian methods on the CNN too (21,840^2 floats; hours). */
  readonly cnnExplicit?: boolean;
  /**
   * Also retrain with the authors' code's |B \ U| normaliser (a second retrain per deletion
   * count). Default: on for logistic, off for the CNN (45 s per retrain here).
   */
  readonly codeRetrain?: boolean;
  readonly finetuneEpochs?: number;
  readonly neggradSteps?: number;
  readonly backend?: string;
  readonly quick: boolean;
  readonly out?: string;
  /** Overrides of the training setting (as verify's flags). */
  readonly n?: number;
  readonly epochs?: number;
}

function checkFlags(flags: CompareFlags): {
  settings: Setting[];
  deletions: number[];
  seeds: number;
  methods: MethodName[];
} {
  const settings = flags.settings.map((s) => {
    if (!(SETTINGS as readonly string[]).includes(s)) {
      throw new Error(`--settings: unknown setting "${s}"; use ${SETTINGS.join(',')}.`);
    }
    return s as Setting;
  });
  if (settings.length === 0) throw new Error('--settings: name at least one setting.');
  const deletions = [...(flags.deletions ?? (flags.quick ? QUICK.deletions : PAPER_DELETIONS))];
  for (const m of deletions) {
    if (!(Number.isInteger(m) && m >= 1))
      throw new Error(`--deletions: ${m} is not a positive integer.`);
  }
  deletions.sort((a, b) => a - b);
  const seeds = flags.seeds ?? (flags.quick ? QUICK.seeds : 3);
  if (!(Number.isInteger(seeds) && seeds >= 1))
    throw new Error(`--seeds ${seeds} must be an integer >= 1.`);
  const methods = (flags.methods ?? ALL_METHODS).map((m) => {
    if (!(ALL_METHODS as readonly string[]).includes(m)) {
      throw new Error(`--methods: unknown method "${m}"; use ${ALL_METHODS.join(',')}.`);
    }
    return m as MethodName;
  });
  return { settings, deletions, seeds, methods };
}

/**
 * `pnpm bench compare`: every method side by side with retraining on the paper's settings,
 * over a deletion sweep and several seeds. Each method is prepared once per seed; each deletion
 * count is an independent request from the prepared state (reset() in between); the forget
 * sets are nested prefixes of one seeded permutation.
 */
export async function runCompare(flags: CompareFlags) {
  const { settings, deletions, seeds, methods } = checkFlags(flags);
  const runs: CompareRun[] = [];
  const notRun: NotRun[] = [];
  let backend: ReturnType<typeof backendRecord> | undefined;
  const started = performance.now();
  for (const setting of settings) {
    const dataset = flags.dataset ?? (flags.quick ? QUICK.dataset : 'mnist');
    const expFlags: ExperimentFlags = {
      model: setting,
      dataset,
      seed: flags.seed,
      backend: flags.backend,
      quick: flags.quick,
      n: flags.n,
      epochs: flags.epochs,
    };
    const { n } = resolveConfig(expFlags);
    const counts = deletions.filter((m) => m < n);
    for (const m of deletions.filter((x) => x >= n)) {
      notRun.push({ setting, method: '*', reason: `${m} deletions >= n = ${n}` });
    }
    const chosen = methods.filter((m) => {
      if (setting === 'cnn' && m in CNN_OPT_IN && !flags.methods?.includes(m)) {
        notRun.push({ setting, method: m, reason: CNN_OPT_IN[m as keyof typeof CNN_OPT_IN] });
        return false;
      }
      if (setting === 'cnn' && (m === 'newton' || m === 'jackknife') && !flags.cnnExplicit) {
        notRun.push({
          setting,
          method: m,
          reason:
            'explicit Hessian of the CNN: 21,840^2 floats (1.9 GB) built from n * d Hessian-vector products (hours on 2 cores) and a 3.5 TFLOP Cholesky per factorisation; its CG variant runs instead (--cnn-explicit to force)',
        });
        return false;
      }
      return true;
    });
    if (setting === 'cnn') {
      // The CG methods linearise the CNN at all n samples (~1.8 GB, held by their worker
      // threads); run them last, after the light methods.
      chosen.sort((a, b) => Number(a.includes('-cg')) - Number(b.includes('-cg')));
    }
    for (let s = 0; s < seeds; s++) {
      const seed = flags.seed + s;
      const exp = await setUp({ ...expFlags, seed });
      backend ??= backendRecord(exp.backend);
      const { model, config, trainingData } = exp;
      process.stderr.write(
        `compare: ${setting} (${model.name}, d = ${model.d}) on ${dataset}, n = ${trainingData.n}, seed ${seed}, deletions ${counts.join(',')}, backend ${exp.backend.name}\n`,
      );
      const t0 = performance.now();
      const { weights, trajectory } = train(model, trainingData, config, {
        checkpoints: { kind: 'every-step' },
      });
      const trainSeconds = (performance.now() - t0) / 1000;
      const forgetAll = chooseForgetSet(trainingData.n, Math.max(...counts), seed);
      const sets = counts.map((m) => forgetAll.slice(0, m).sort((a, b) => a - b));
      const evaluate = (w: Float32Array, forget: readonly number[]) => {
        const gone = new Set(forget);
        const remain = Array.from({ length: trainingData.n }, (_, i) => i).filter(
          (i) => !gone.has(i),
        );
        return {
          test: accuracy(model, w, exp.test),
          forget: accuracy(model, w, exp.train, forget),
          remain: accuracy(model, w, exp.train, remain),
        };
      };
      const codeRetrain = flags.codeRetrain ?? setting !== 'cnn';
      const retrainProgress = progressLine('  retrain');
      const retrained = sets.map((forget, i) => {
        const t = performance.now();
        const paper = retrain(model, trainingData, trajectory, forget);
        const seconds = (performance.now() - t) / 1000;
        const code = codeRetrain
          ? retrain(model, trainingData, trajectory, forget, { normaliser: 'remaining' })
          : null;
        retrainProgress((i + 1) / sets.length, `m = ${forget.length}: ${seconds.toFixed(1)} s`);
        return { paper, code, seconds };
      });
      if (!codeRetrain && s === 0) {
        notRun.push({
          setting,
          method: "retrain (authors' |B \\ U| normaliser)",
          reason: 'skipped for time by default on this setting (--code-retrain to include)',
        });
      }
      const run: CompareRun = {
        setting,
        seed,
        model: model.name,
        d: model.d,
        n: trainingData.n,
        dataset,
        config,
        steps: trajectory.steps.length,
        trainSeconds,
        methods: [],
      };
      const distances = (w: Float32Array, i: number) => ({
        distance: l2Distance(w, retrained[i]!.paper),
        distanceCode: retrained[i]!.code ? l2Distance(w, retrained[i]!.code) : null,
      });
      // References: the original model (no unlearning) and retraining itself.
      run.methods.push({
        method: 'original',
        prepare: { seconds: trainSeconds, bytes: 0, detail: { note: 'training time' } },
        requests: sets.map((forget, i) => ({
          m: forget.length,
          seconds: 0,
          ...distances(weights, i),
          accuracy: evaluate(weights, forget),
          detail: {},
        })),
      });
      run.methods.push({
        method: 'retrain',
        prepare: { seconds: 0, bytes: 0, detail: {} },
        requests: sets.map((forget, i) => ({
          m: forget.length,
          seconds: retrained[i]!.seconds,
          ...distances(retrained[i]!.paper, i),
          accuracy: evaluate(retrained[i]!.paper, forget),
          detail: {},
        })),
      });
      runs.push(run);
      for (const name of chosen) {
        const method = makeMethod(name, setting, flags, forgetAll);
        const progress = progressLine(`  ${method.name}`);
        process.stderr.write(`  ${method.name}: prepare\n`);
        try {
          const prep = await method.prepare({ model, data: trainingData, trajectory });
          const entry: MethodRun = {
            method: method.name,
            prepare: { seconds: prep.seconds, bytes: prep.bytes, detail: prep.detail },
            requests: [],
          };
          for (const [i, forget] of sets.entries()) {
            await method.reset();
            const r = await method.unlearn(forget);
            entry.requests.push({
              m: forget.length,
              seconds: r.record.seconds,
              ...distances(r.weights, i),
              accuracy: evaluate(r.weights, forget),
              detail: r.record.detail,
            });
            progress(
              (i + 1) / sets.length,
              `m = ${forget.length}: ${r.record.seconds.toFixed(3)} s`,
            );
          }
          run.methods.push(entry);
        } catch (err) {
          // A method that fails (e.g. CG meeting negative curvature past its damping budget)
          // is reported, not allowed to end the comparison.
          const message = err instanceof Error ? err.message : String(err);
          process.stderr.write(`  ${method.name}: failed: ${message}\n`);
          notRun.push({
            setting,
            method: method.name,
            reason: `failed (seed ${seed}): ${message}`,
          });
        } finally {
          await method.dispose();
        }
        // Written after every method, so that an interrupted sweep keeps what it measured.
        if (flags.out) writeResults(false);
      }
    }
  }
  return writeResults(true);

  function writeResults(complete: boolean) {
    return writeCompare(
      {
        complete,
        backend,
        flags: { ...flags, deletions, seeds },
        totalSeconds: (performance.now() - started) / 1000,
        notRun,
        runs,
      },
      flags.out,
    );
  }
}

const PROTOCOL =
  'Per seed: a training subset, run and forget permutation of their own; each method prepared once, each deletion count an independent batch request from the prepared state; distances to the |B|-normalised retrain (paper) and to the |B \\ U| one (authors code).';

interface CompareParts {
  readonly complete: boolean;
  readonly backend: ReturnType<typeof backendRecord> | undefined;
  readonly flags: Readonly<Record<string, unknown>>;
  readonly totalSeconds: number;
  readonly notRun: readonly NotRun[];
  readonly runs: readonly CompareRun[];
  readonly mergedFrom?: readonly string[];
}

function writeCompare(parts: CompareParts, out: string | undefined) {
  const summary = aggregate(parts.runs);
  const result = {
    experiment: 'compare',
    complete: parts.complete,
    backend: parts.backend?.name,
    backendDetail: parts.backend,
    versions: versions(),
    flags: parts.flags,
    protocol: PROTOCOL,
    totalSeconds: parts.totalSeconds,
    ...(parts.mergedFrom ? { mergedFrom: parts.mergedFrom } : {}),
    entries: summary,
    notRun: parts.notRun,
    runs: parts.runs,
  };
  const markdown = markdownReport(summary, parts.notRun, parts.flags, result.backend ?? 'unknown');
  if (parts.complete) process.stdout.write(`\n${markdown}\n`);
  if (out) {
    writeAtomic(out, 'result.json', `${JSON.stringify(result, null, 2)}\n`);
    writeAtomic(out, 'result.md', markdown);
    const charts = chartsFor(summary);
    for (const [file, svg] of charts) writeAtomic(out, file, svg);
    process.stderr.write(
      `compare: wrote ${out}/result.json, result.md, ${charts.map(([f]) => f).join(', ')}${parts.complete ? '' : ` (${parts.runs.length} run(s) so far)`}\n`,
    );
  }
  return result;
}

/**
 * `pnpm bench compare --merge DIR1,DIR2,... --out DIR`: one report over runs made separately
 * (one seed per process or machine; one directory redraws its report). Runs of the same setting and seed must not repeat, and the
 * inputs must share backend and deletion counts.
 */
export function mergeCompare(dirs: readonly string[], out: string | undefined) {
  if (dirs.length < 1) throw new Error('--merge: name at least one result directory.');
  const inputs = dirs.map((dir) => {
    const file = join(dir, 'result.json');
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(
        `--merge: cannot read ${file} (${err instanceof Error ? err.message : String(err)}): pass directories written by bench compare --out.`,
      );
    }
    const r = parsed as {
      experiment?: string;
      backendDetail?: ReturnType<typeof backendRecord>;
      flags?: Record<string, unknown>;
      totalSeconds?: number;
      notRun?: NotRun[];
      runs?: CompareRun[];
    };
    if (r.experiment !== 'compare' || !Array.isArray(r.runs))
      throw new Error(`--merge: ${file} is not a bench compare result.`);
    return { dir, r };
  });
  const backends = new Set(inputs.map(({ r }) => r.backendDetail?.name));
  if (backends.size > 1)
    throw new Error(
      `--merge: the results come from different backends (${[...backends].join(', ')}): merge runs of one backend.`,
    );
  const seen = new Set<string>();
  const runs: CompareRun[] = [];
  for (const { dir, r } of inputs) {
    for (const run of r.runs!) {
      const key = `${run.setting} seed ${run.seed}`;
      if (seen.has(key)) throw new Error(`--merge: ${key} appears twice (again in ${dir}).`);
      seen.add(key);
      const counts = (x: CompareRun) => (x.methods[0]?.requests ?? []).map((q) => q.m).join(',');
      const other = runs.find((x) => x.setting === run.setting);
      if (other && counts(other) !== counts(run))
        throw new Error(
          `--merge: ${run.setting} runs differ in deletion counts (${counts(other)} vs ${counts(run)} in ${dir}): merge runs of one sweep.`,
        );
      runs.push(run);
    }
  }
  const notRun = new Map<string, NotRun>();
  for (const { r } of inputs)
    for (const x of r.notRun ?? []) notRun.set(`${x.setting}|${x.method}|${x.reason}`, x);
  return writeCompare(
    {
      complete: true,
      backend: inputs[0]!.r.backendDetail,
      flags: {
        ...inputs[0]!.r.flags,
        seeds: new Set(runs.map((x) => x.seed)).size,
        seed: undefined,
        out,
        merged: dirs,
      },
      totalSeconds: inputs.reduce((a, { r }) => a + (r.totalSeconds ?? 0), 0),
      notRun: [...notRun.values()],
      runs,
      mergedFrom: dirs,
    },
    out,
  );
}

function makeMethod(
  name: MethodName,
  setting: Setting,
  flags: CompareFlags,
  asked: readonly number[],
): UnlearningMethod {
  // The CNN (lambda = 1e-6, not converged) has an indefinite, ill-conditioned Hessian and an
  // HVP over the data costs ~0.6 s here: a looser tolerance, fewer iterations, larger damping.
  const cg =
    setting === 'cnn'
      ? { tolerance: 1e-4, maxIterations: 50 }
      : { tolerance: 1e-5, maxIterations: 300 };
  const damping =
    setting === 'cnn' ? { initialRelative: 1e-3, growth: 10, maxAttempts: 6 } : undefined;
  // The CNN's points (~1.8 MB per sample) do not fit one wasm heap: split them over workers.
  const workers = setting === 'cnn' ? (flags.workers ?? 2) : 1;
  switch (name) {
    case 'hessian-free':
      // The CNN's full precompute takes ~17 min here per seed: precompute the rows the sweep
      // asks for (they equal a full precompute's rows); the record extrapolates the time to n.
      return hessianFree({
        workers: flags.workers,
        keepForReset: true,
        precomputeIds: setting === 'cnn' ? asked : undefined,
      });
    case 'hessian-free-2':
      // Not in the paper: the first-order sum refined by the second-order recollection.
      return hessianFree({
        workers: flags.workers,
        keepForReset: true,
        precomputeIds: setting === 'cnn' ? asked : undefined,
        order: 2,
      });
    case 'newton':
      return newtonStep({ damping });
    case 'jackknife':
      return infinitesimalJackknife({ damping });
    case 'newton-cg':
      return newtonStep({ solver: 'cg', cg, damping, workers });
    case 'newton-cg@batch':
      // Not a method of the paper: the exact Newton step of the objective the paper's own
      // counterfactual minimises, to show what the stated update's mixed normalisation costs.
      return newtonStep({ solver: 'cg', counterfactual: 'batch', cg, damping, workers });
    case 'jackknife-cg':
      return infinitesimalJackknife({ solver: 'cg', cg, damping, workers });
    case 'fine-tune':
      return fineTune({ epochs: flags.finetuneEpochs ?? 2 });
    case 'negative-gradient':
      return negativeGradient({ steps: flags.neggradSteps ?? 5 });
  }
}
