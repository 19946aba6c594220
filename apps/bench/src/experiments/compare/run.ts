import { LetheError } from '@lethe/core';
import { l2Distance } from '@lethe/evaluate';
import { retrain, train } from '@lethe/recollect';
import { accuracyOn, backendRecord } from '../../measure.js';
import { progressLine } from '../../progress.js';
import { findPreset, PRESET_NAMES, type Preset } from '../../settings/index.js';
import { chooseForgetSet, type ExperimentFlags, resolveConfig, setUp } from '../../setup.js';
import { makeMethod } from './methods.js';
import {
  ALL_METHODS,
  CNN_OPT_IN,
  type CompareFlags,
  type MethodName,
  PAPER_DELETIONS,
  QUICK,
  RESNET,
  SETTINGS,
  type Setting,
} from './options.js';
import type { CompareParts, CompareRun, MethodRun, NotRun } from './report.js';

function checkFlags(flags: CompareFlags): {
  settings: string[];
  deletions: number[];
  seeds: number;
  methods: MethodName[];
} {
  const settings = flags.settings.map((s) => {
    if (!(SETTINGS as readonly string[]).includes(s) && !PRESET_NAMES.includes(s)) {
      throw new LetheError(
        'invalid-argument',
        `--settings: unknown setting "${s}"; use ${SETTINGS.join(',')} or a named setting (${PRESET_NAMES.join(', ')}).`,
      );
    }
    return s;
  });
  if (settings.length === 0)
    throw new LetheError('invalid-argument', '--settings: name at least one setting.');
  // The ResNet alone defaults to its own (smaller) sweep and seed count.
  const resnetOnly = settings.every((s) => s === 'resnet');
  const small = flags.quick ? RESNET.quick : RESNET;
  const deletions = [
    ...(flags.deletions ??
      (resnetOnly ? small.deletions : flags.quick ? QUICK.deletions : PAPER_DELETIONS)),
  ];
  for (const m of deletions) {
    if (!(Number.isInteger(m) && m >= 1))
      throw new LetheError('invalid-argument', `--deletions: ${m} is not a positive integer.`);
  }
  deletions.sort((a, b) => a - b);
  const seeds = flags.seeds ?? (resnetOnly ? small.seeds : flags.quick ? QUICK.seeds : 3);
  if (!(Number.isInteger(seeds) && seeds >= 1))
    throw new LetheError('invalid-argument', `--seeds ${seeds} must be an integer >= 1.`);
  const methods = (flags.methods ?? ALL_METHODS).map((m) => {
    if (!(ALL_METHODS as readonly string[]).includes(m)) {
      throw new LetheError(
        'invalid-argument',
        `--methods: unknown method "${m}"; use ${ALL_METHODS.join(',')}.`,
      );
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
export async function runCompare(
  flags: CompareFlags,
  checkpoint?: (parts: CompareParts) => void,
): Promise<CompareParts> {
  const { settings, deletions, seeds, methods } = checkFlags(flags);
  const runs: CompareRun[] = [];
  // The deletion counts and seeds each setting ran with (a named setting brings its own).
  const ranWith: Record<string, { deletions: number[]; seeds: number[] }> = {};
  const notRun: NotRun[] = [];
  let backend: ReturnType<typeof backendRecord> | undefined;
  const started = performance.now();
  for (const setting of settings) {
    // A named setting (a row of the paper's tables), the small ResNet, or the MNIST logistic / CNN setting.
    const resnet = setting === 'resnet';
    const small = flags.quick ? RESNET.quick : RESNET;
    const preset: Preset | undefined = PRESET_NAMES.includes(setting)
      ? findPreset(setting)
      : undefined;
    const model = preset?.model ?? setting;
    // The convolutional models get the CNN's treatment (looser CG, opt-in explicit Hessians).
    const profile: Setting = model === 'cnn' || model === 'lenet' ? 'cnn' : 'logistic';
    const dataset =
      flags.dataset ?? preset?.dataset ?? (flags.quick && !resnet ? QUICK.dataset : 'mnist');
    const expFlags: ExperimentFlags = {
      setting: preset?.name,
      model,
      dataset,
      seed: flags.seed,
      backend: flags.backend,
      quick: flags.quick,
      n: flags.n ?? (resnet ? small.n : undefined),
      epochs: flags.epochs ?? (resnet ? small.epochs : undefined),
      ...(resnet
        ? {
            batchSize: small.batchSize,
            lr: RESNET.lr,
            lrDecay: RESNET.lrDecay,
            clip: RESNET.clip,
            l2: RESNET.l2,
          }
        : {}),
    };
    const { n } = resolveConfig(expFlags);
    const asked =
      flags.deletions === undefined && preset
        ? [...preset.deletions]
        : resnet && !flags.deletions
          ? [...small.deletions]
          : deletions;
    const counts = asked.filter((m) => m < n);
    // The named setting's seeds (the authors'), unless --seed asks for consecutive ones.
    const count = flags.seeds ?? (preset && !flags.quick ? preset.seeds.length : seeds);
    const seedList =
      preset && flags.seedGiven !== true
        ? Array.from({ length: count }, (_, s) => preset.seeds[s] ?? flags.seed + s)
        : Array.from({ length: count }, (_, s) => flags.seed + s);
    ranWith[setting] = { deletions: counts, seeds: seedList };
    for (const m of asked.filter((x) => x >= n)) {
      notRun.push({ setting, method: '*', reason: `${m} deletions >= n = ${n}` });
    }
    const chosen = methods.filter((m) => {
      if (resnet && !(RESNET.methods as readonly string[]).includes(m) && !flags.methods) {
        notRun.push({
          setting,
          method: m,
          reason:
            "not in the paper's ResNet-18 comparison (Hessian-free against fine-tune, negative gradient and retraining); --methods to include",
        });
        return false;
      }
      if (profile === 'cnn' && m in CNN_OPT_IN && !flags.methods?.includes(m)) {
        notRun.push({ setting, method: m, reason: CNN_OPT_IN[m as keyof typeof CNN_OPT_IN] });
        return false;
      }
      if (profile === 'cnn' && (m === 'newton' || m === 'jackknife') && !flags.cnnExplicit) {
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
    if (profile === 'cnn') {
      // The CG methods linearise the CNN at all n samples (~1.8 GB, held by their worker
      // threads); run them last, after the light methods.
      chosen.sort((a, b) => Number(a.includes('-cg')) - Number(b.includes('-cg')));
    }
    for (const [s, seed] of seedList.entries()) {
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
          test: accuracyOn(model, w, exp.test),
          forget: accuracyOn(model, w, exp.train, forget),
          remain: accuracyOn(model, w, exp.train, remain),
        };
      };
      // The ResNet retrains with its own loop only (as the CNN), the others with the code's too.
      const codeRetrain = flags.codeRetrain ?? (profile !== 'cnn' && !resnet);
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
        const method = makeMethod(name, profile, flags, forgetAll);
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
              seconds: r.record.milliseconds / 1000,
              ...distances(r.weights, i),
              accuracy: evaluate(r.weights, forget),
              detail: r.record.detail,
            });
            progress(
              (i + 1) / sets.length,
              `m = ${forget.length}: ${(r.record.milliseconds / 1000).toFixed(3)} s`,
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
        // Handed out after every method, so that an interrupted sweep keeps what it measured.
        checkpoint?.(parts(false));
      }
    }
  }
  return parts(true);

  function parts(complete: boolean): CompareParts {
    return {
      complete,
      backend,
      flags: { ...flags, deletions, seeds, ranWith },
      totalSeconds: (performance.now() - started) / 1000,
      notRun: [...notRun],
      runs: [...runs],
    };
  }
}
