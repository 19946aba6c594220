import { l2Distance, pearson } from '@lethe/evaluate';
import {
  recollect,
  retrain,
  secondOrderUpdate,
  storeIdentity,
  train,
  Unlearner,
} from '@lethe/recollect';
import { createMemoryStore } from '@lethe/store';
import { accuracyOn, backendRecord, lossesOn } from '../../measure.js';
import { progressLine } from '../../progress.js';
import { type Experiment, forgetAndRemain, setUp } from '../../setup.js';
import { percentile } from '../../stats.js';
import type { VerifyFlags } from './options.js';
import { runSweep, type SweepRow } from './sweep.js';

interface Unlearned {
  readonly unlearner: Unlearner;
  readonly precomputeSeconds: number;
  readonly workers: number;
  readonly blockSize: number;
  readonly unlearnMs: number[];
}

/**
 * Forgets the set: lazily in one batch, or from a full precompute one request at a time (a
 * service answers deletions from a warm process, so the read-and-sum path is exercised on
 * samples that stay and garbage is collected before the requests are timed).
 */
async function unlearnSet(
  flags: VerifyFlags,
  exp: Experiment,
  trajectory: Parameters<typeof Unlearner.open>[1],
  store: ReturnType<typeof createMemoryStore>,
  forget: readonly number[],
  remain: readonly number[],
): Promise<Unlearned> {
  const { model, trainingData } = exp;
  const unlearnMs: number[] = [];
  if (flags.lazy) {
    const unlearner = await Unlearner.open(model, trajectory, {
      kind: 'lazy',
      data: trainingData,
      workers: flags.workers ?? 2,
    });
    const t0 = performance.now();
    await unlearner.forgetBatch(forget);
    unlearnMs.push(performance.now() - t0);
    return { unlearner, precomputeSeconds: 0, workers: 0, blockSize: 0, unlearnMs };
  }
  const progress = progressLine('recollect');
  const r = await recollect({
    model,
    data: trainingData,
    trajectory,
    store,
    workers: flags.workers,
    blockSize: flags.blockSize,
    onProgress: (p) =>
      progress(p.fraction, `${p.elapsedSeconds.toFixed(1)} s, ~${Math.round(p.etaSeconds)} s left`),
  });
  const unlearner = await Unlearner.open(model, trajectory, { kind: 'store', store });
  for (let i = 0; i < 20; i++) await unlearner.update([remain[i % remain.length]!]);
  (globalThis as { gc?: () => void }).gc?.();
  for (const id of forget) unlearnMs.push((await unlearner.forget(id)).milliseconds);
  return {
    unlearner,
    precomputeSeconds: r.seconds,
    workers: r.workers,
    blockSize: r.blockSize,
    unlearnMs,
  };
}

/**
 * Trains with a recorded trajectory, computes the approximators, forgets the set, and measures
 * the result against real retraining. Returns the record that result.json holds.
 */
export async function runVerify(flags: VerifyFlags) {
  const exp = await setUp(flags);
  const { model, config, trainingData } = exp;
  const { forget, remain } = forgetAndRemain(trainingData.n, flags.forget, flags.seed);
  process.stderr.write(
    `verify: ${model.name} (d = ${model.d}) on ${flags.dataset}, n = ${trainingData.n}, ${JSON.stringify(config)}, forget ${forget.length}, backend ${exp.backend.name}\n`,
  );

  const trainProgress = progressLine('train');
  let t0 = performance.now();
  const { weights, trajectory } = train(model, trainingData, config, {
    onStep: (s) => trainProgress(s.step / s.total, `loss ${s.loss.toFixed(4)}`),
  });
  const trainSeconds = (performance.now() - t0) / 1000;

  const store = createMemoryStore(storeIdentity(model, trajectory));
  const done = await unlearnSet(flags, exp, trajectory, store, forget, remain);
  const hf = done.unlearner.weights;

  process.stderr.write('retrain: exact counterfactuals (|B| and |B \\ U| normalisers)\n');
  t0 = performance.now();
  const retrained = retrain(model, trainingData, trajectory, forget);
  const retrainSeconds = (performance.now() - t0) / 1000;
  const retrainedCode = retrain(model, trainingData, trajectory, forget, {
    normaliser: 'remaining',
  });
  const retrainShift = l2Distance(weights, retrained);
  const distance = {
    hf: l2Distance(hf, retrained),
    retrainShift,
    hfToCodeRetrain: l2Distance(hf, retrainedCode),
    codeRetrainShift: l2Distance(weights, retrainedCode),
    ratio: l2Distance(hf, retrained) / retrainShift,
  };

  let secondOrder = null;
  let hf2: Float32Array | null = null;
  if (flags.order === 2) {
    const progress = progressLine('second order');
    const record = await done.unlearner.refineSecondOrder(trainingData, (s, total) =>
      progress(s / total),
    );
    hf2 = done.unlearner.weights;
    const d2 = l2Distance(hf2, retrained);
    // The refinement without clipping's second derivative, for comparison.
    const plain = secondOrderUpdate(model, trainingData, trajectory, forget, {
      clipCurvature: false,
    });
    const dPlain = l2Distance(plain.weights, retrained);
    secondOrder = {
      hf2: d2,
      ratio: d2 / retrainShift,
      seconds: record.milliseconds / 1000,
      withoutClipCurvature: { hf2: dPlain, ratio: dPlain / retrainShift },
    };
  }
  const sweep: SweepRow[] | null = flags.sweep
    ? await runSweep(flags, exp, trajectory, store.manifest, weights)
    : null;

  const acc = (w: Float32Array) => ({
    test: accuracyOn(model, w, exp.test),
    forget: accuracyOn(model, w, exp.train, forget),
    remain: accuracyOn(model, w, exp.train, remain),
  });
  const [aOrig, aHf, aRet] = [acc(weights), acc(hf), acc(retrained)];

  // Loss change on the forgotten samples: approximate (unlearned) vs actual (retrained).
  const lossOrig = lossesOn(model, weights, exp.train, forget);
  const approxChange = lossesOn(model, hf, exp.train, forget).map((l, i) => l - lossOrig[i]!);
  const actualChange = lossesOn(model, retrained, exp.train, forget).map(
    (l, i) => l - lossOrig[i]!,
  );
  await store.close();

  return {
    config: {
      setting: flags.setting ?? null,
      model: model.name,
      d: model.d,
      dataset: flags.dataset,
      n: trainingData.n,
      forget: forget.length,
      lazy: flags.lazy,
      ...config,
      steps: trajectory.steps.length,
    },
    backend: exp.backend.name,
    backendDetail: backendRecord(exp.backend),
    seed: flags.seed,
    distance: {
      ...distance,
      ...(secondOrder ? { hf2: secondOrder.hf2, ratio2: secondOrder.ratio } : {}),
    },
    secondOrder,
    sweep,
    accuracy: {
      test: { original: aOrig.test, hf: aHf.test, retrain: aRet.test },
      forget: { original: aOrig.forget, hf: aHf.forget, retrain: aRet.forget },
      remain: { original: aOrig.remain, hf: aHf.remain, retrain: aRet.remain },
      ...(hf2 ? { hf2: acc(hf2) } : {}),
    },
    lossChange: {
      pearson: pearson(approxChange, actualChange),
      approximate: Array.from(approxChange),
      actual: Array.from(actualChange),
    },
    timing: {
      trainSeconds,
      precomputeSeconds: done.precomputeSeconds,
      retrainSeconds,
      workers: done.workers,
      blockSize: done.blockSize,
      unlearnMs: {
        p50: percentile(done.unlearnMs, 50),
        p99: percentile(done.unlearnMs, 99),
        max: Math.max(...done.unlearnMs),
        first: done.unlearnMs[0],
        mode: flags.lazy ? 'lazy batch' : 'online, per request',
      },
    },
    storage: { bytes: flags.lazy ? 0 : trainingData.n * model.d * 4 },
    clippedSteps: trajectory.steps.filter((s) => s.clip.clipped).length,
    trainingLoss: trajectory.steps.map((s) => s.loss),
    forgotten: forget,
  };
}

export type VerifyRecord = Awaited<ReturnType<typeof runVerify>>;
