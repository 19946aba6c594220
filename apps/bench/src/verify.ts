import {
  DataTensors,
  recollect,
  retrain,
  secondOrderUpdate,
  storeIdentity,
  train,
  Unlearner,
} from '@lethe/recollect';
import { createMemoryStore } from '@lethe/store';
import { accuracy, backendRecord, l2Distance, pearson, sampleLosses, versions } from './common.js';
import { markdownTable, percentile, progressLine, writeAtomic } from './report.js';
import { chooseForgetSet, type ExperimentFlags, setUp } from './setup.js';
import { chart } from './svg.js';

export interface VerifyFlags extends ExperimentFlags {
  readonly forget: number;
  readonly workers?: number;
  readonly blockSize?: number;
  readonly lazy: boolean;
  /** 2 adds the second-order refinement (distance.hf2). */
  readonly order: 1 | 2;
  /** Deletion counts for a sweep of the distance ratios (first and, with order 2, second order). */
  readonly sweep?: readonly number[];
  readonly out?: string;
}

/**
 * `pnpm bench verify`: train with a recorded trajectory, compute the approximators, forget M
 * samples one request at a time, and compare with real retraining.
 */
export async function runVerify(flags: VerifyFlags) {
  const exp = await setUp(flags);
  const { model, config, trainingData } = exp;
  const forget = chooseForgetSet(trainingData.n, flags.forget, flags.seed);
  const remain = Array.from({ length: trainingData.n }, (_, i) => i).filter(
    (i) => !forget.includes(i),
  );
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
  let precomputeSeconds = 0;
  let workersUsed = 0;
  let blockSize = 0;
  const unlearnMs: number[] = [];
  let unlearner: Unlearner;
  if (flags.lazy) {
    unlearner = Unlearner.open(model, trajectory, {
      kind: 'lazy',
      data: trainingData,
      workers: flags.workers ?? 2,
    });
    t0 = performance.now();
    await unlearner.forgetBatch(forget);
    unlearnMs.push(performance.now() - t0);
  } else {
    const progress = progressLine('recollect');
    const r = await recollect({
      model,
      data: trainingData,
      trajectory,
      store,
      workers: flags.workers,
      blockSize: flags.blockSize,
      onProgress: (p) =>
        progress(
          p.fraction,
          `${p.elapsedSeconds.toFixed(1)} s, ~${Math.round(p.etaSeconds)} s left`,
        ),
    });
    precomputeSeconds = r.seconds;
    workersUsed = r.workers;
    blockSize = r.blockSize;
    unlearner = Unlearner.open(model, trajectory, { kind: 'store', store });
    // A service answers deletions from a warm process: exercise the read-and-sum path on samples
    // that stay (nothing is applied), collect garbage left by the precompute when the process
    // allows it (the bench runs with --expose-gc), then time every request.
    const keep = Array.from({ length: trainingData.n }, (_, i) => i).filter(
      (i) => !forget.includes(i),
    );
    for (let i = 0; i < 20; i++) await unlearner.update([keep[i % keep.length]!]);
    (globalThis as { gc?: () => void }).gc?.();
    for (const id of forget) unlearnMs.push((await unlearner.forget(id)).milliseconds);
  }
  const storageBytes = flags.lazy ? 0 : trainingData.n * model.d * 4;
  const hf = unlearner.weights;

  process.stderr.write('retrain: exact counterfactuals (|B| and |B \\ U| normalisers)\n');
  t0 = performance.now();
  const retrained = retrain(model, trainingData, trajectory, forget);
  const retrainSeconds = (performance.now() - t0) / 1000;
  const retrainedCode = retrain(model, trainingData, trajectory, forget, {
    normaliser: 'remaining',
  });

  const distance = {
    hf: l2Distance(hf, retrained),
    retrainShift: l2Distance(weights, retrained),
    hfToCodeRetrain: l2Distance(hf, retrainedCode),
    codeRetrainShift: l2Distance(weights, retrainedCode),
    ratio: 0,
  };
  distance.ratio = distance.hf / distance.retrainShift;

  let secondOrder: {
    hf2: number;
    ratio: number;
    seconds: number;
    withoutClipCurvature: { hf2: number; ratio: number };
  } | null = null;
  let hf2: Float32Array | null = null;
  if (flags.order === 2) {
    const progress = progressLine('second order');
    const record = await unlearner.refineSecondOrder(trainingData, (s, total) =>
      progress(s / total),
    );
    hf2 = unlearner.weights;
    const d2 = l2Distance(hf2, retrained);
    // METHOD.md's form, without clipping's second derivative, for comparison.
    const tensors = new DataTensors(model, trainingData);
    const methodForm = secondOrderUpdate(model, tensors, trajectory, forget, {
      clipCurvature: false,
    });
    const dMethod = l2Distance(methodForm.weights, retrained);
    secondOrder = {
      hf2: d2,
      ratio: d2 / distance.retrainShift,
      seconds: record.milliseconds / 1000,
      withoutClipCurvature: { hf2: dMethod, ratio: dMethod / distance.retrainShift },
    };
  }
  const sweep = flags.sweep ? await runSweep(flags, exp, trajectory, store, weights) : null;

  const acc = (w: Float32Array) => ({
    test: accuracy(model, w, exp.test),
    forget: accuracy(model, w, exp.train, forget),
    remain: accuracy(model, w, exp.train, remain),
  });
  const [aOrig, aHf, aRet] = [acc(weights), acc(hf), acc(retrained)];
  const accuracyRecord = {
    test: { original: aOrig.test, hf: aHf.test, retrain: aRet.test },
    forget: { original: aOrig.forget, hf: aHf.forget, retrain: aRet.forget },
    remain: { original: aOrig.remain, hf: aHf.remain, retrain: aRet.remain },
  };

  // Loss change on the forgotten samples: approximate (unlearned) vs actual (retrained).
  const lossOrig = sampleLosses(model, weights, exp.train, forget);
  const approxChange = sampleLosses(model, hf, exp.train, forget).map((l, i) => l - lossOrig[i]!);
  const actualChange = sampleLosses(model, retrained, exp.train, forget).map(
    (l, i) => l - lossOrig[i]!,
  );

  const result = {
    experiment: 'verify',
    config: {
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
    versions: versions(),
    seed: flags.seed,
    distance: {
      ...distance,
      ...(secondOrder ? { hf2: secondOrder.hf2, ratio2: secondOrder.ratio } : {}),
    },
    secondOrder,
    sweep,
    accuracy: { ...accuracyRecord, ...(hf2 ? { hf2: acc(hf2) } : {}) },
    lossChange: {
      pearson: pearson(approxChange, actualChange),
      approximate: Array.from(approxChange),
      actual: Array.from(actualChange),
    },
    timing: {
      trainSeconds,
      precomputeSeconds,
      retrainSeconds,
      workers: workersUsed,
      blockSize,
      unlearnMs: {
        p50: percentile(unlearnMs, 50),
        p99: percentile(unlearnMs, 99),
        max: Math.max(...unlearnMs),
        first: unlearnMs[0],
        mode: flags.lazy ? 'lazy batch' : 'online, per request',
      },
    },
    storage: { bytes: storageBytes },
    clippedSteps: trajectory.steps.filter((s) => s.clip.clipped).length,
    forgotten: forget,
  };

  const table = markdownTable(
    ['metric', 'value'],
    [
      ['distance HF to retrain (|B|)', distance.hf],
      ['distance original to retrain', distance.retrainShift],
      ['ratio HF / shift', distance.ratio],
      ...(secondOrder
        ? ([
            ['distance HF2 (second order) to retrain', secondOrder.hf2],
            ['ratio HF2 / shift', secondOrder.ratio],
            [
              'ratio HF2 / shift, METHOD.md form (no clipping curvature)',
              secondOrder.withoutClipCurvature.ratio,
            ],
            ['second-order pass seconds', secondOrder.seconds],
          ] as [string, number][])
        : []),
      ["distance HF to retrain (|B \\ U|, authors' code)", distance.hfToCodeRetrain],
      [
        'test acc original / HF / retrain',
        `${pct(aOrig.test)} / ${pct(aHf.test)} / ${pct(aRet.test)}`,
      ],
      [
        'forget acc original / HF / retrain',
        `${pct(aOrig.forget)} / ${pct(aHf.forget)} / ${pct(aRet.forget)}`,
      ],
      [
        'remain acc original / HF / retrain',
        `${pct(aOrig.remain)} / ${pct(aHf.remain)} / ${pct(aRet.remain)}`,
      ],
      ['loss change Pearson (approx vs actual)', result.lossChange.pearson],
      ['train seconds', trainSeconds],
      [
        flags.lazy
          ? 'precompute seconds (lazy: none)'
          : `precompute seconds (${workersUsed} workers, block ${blockSize})`,
        precomputeSeconds,
      ],
      [
        flags.lazy ? 'lazy unlearn ms (whole set)' : 'unlearn ms per request p50 / p99',
        `${percentile(unlearnMs, 50).toFixed(3)} / ${percentile(unlearnMs, 99).toFixed(3)}`,
      ],
      ['retrain seconds', retrainSeconds],
      ['storage bytes', storageBytes],
      ['clipped steps', `${result.clippedSteps} of ${trajectory.steps.length}`],
    ],
  );
  process.stdout.write(`\n${table}\n`);
  if (flags.out) {
    writeAtomic(flags.out, 'result.json', `${JSON.stringify(result, null, 2)}\n`);
    writeAtomic(
      flags.out,
      'result.md',
      `# verify: ${model.name} on ${flags.dataset}\n\n${table}\n`,
    );
    writeAtomic(
      flags.out,
      'loss-change.svg',
      chart(
        [
          {
            name: 'forgotten samples',
            points: Array.from(approxChange, (a, i) => [actualChange[i]!, a] as const),
            style: 'points',
          },
        ],
        {
          title: `Loss change on forgotten samples (Pearson ${result.lossChange.pearson.toFixed(3)})`,
          xLabel: 'actual (retrained) loss change',
          yLabel: 'approximate (unlearned) loss change',
          diagonal: true,
        },
      ),
    );
    writeAtomic(
      flags.out,
      'training-loss.svg',
      chart(
        [{ name: 'batch loss', points: trajectory.steps.map((s, t) => [t, s.loss] as const) }],
        {
          title: `Training loss (${model.name})`,
          xLabel: 'step',
          yLabel: 'cross-entropy',
        },
      ),
    );
    if (sweep) {
      const series = [{ name: 'first order', points: sweep.map((r) => [r.m, r.ratio] as const) }];
      if (flags.order === 2) {
        series.push({ name: 'second order', points: sweep.map((r) => [r.m, r.ratio2!] as const) });
      }
      writeAtomic(
        flags.out,
        'distance-vs-deletions.svg',
        chart(series, {
          title: `Distance to retrain / retrain shift (${model.name})`,
          xLabel: 'deletions',
          yLabel: '||w_unlearned - w_retrain|| / ||w - w_retrain||',
          logY: true,
        }),
      );
    }
    process.stderr.write(`verify: wrote ${flags.out}/result.json, result.md and SVG plots\n`);
  }
  await store.close();
  return result;
}

interface SweepRow {
  readonly m: number;
  readonly shift: number;
  readonly ratio: number;
  readonly ratio2: number | null;
  readonly secondOrderSeconds: number | null;
}

/** Distance ratios for growing deletion sets (first m of one seeded order), without erasing. */
async function runSweep(
  flags: VerifyFlags,
  exp: Awaited<ReturnType<typeof setUp>>,
  trajectory: Parameters<typeof retrain>[2],
  store: ReturnType<typeof createMemoryStore>,
  weights: Float32Array,
): Promise<SweepRow[]> {
  const { model, trainingData } = exp;
  const rows: SweepRow[] = [];
  const order = chooseForgetSet(trainingData.n, Math.max(...flags.sweep!), flags.seed + 1);
  const fresh = createMemoryStore({ ...store.manifest });
  const all = Int32Array.from({ length: trainingData.n }, (_, i) => i);
  // The verify run erased the forgotten rows from `store`; recompute the sweep's own rows.
  const { vectors } = await recollect({
    model,
    data: trainingData,
    trajectory,
    ids: all,
    workers: flags.workers,
    store: fresh,
  });
  const tensors = new DataTensors(model, trainingData);
  try {
    for (const m of flags.sweep!) {
      const set = order.slice(0, m);
      const exact = retrain(model, trainingData, trajectory, set);
      const first = Float32Array.from(weights);
      for (const id of set)
        for (let j = 0; j < model.d; j++) first[j]! += vectors[id * model.d + j]!;
      const shift = l2Distance(weights, exact);
      let ratio2: number | null = null;
      let secondOrderSeconds: number | null = null;
      if (flags.order === 2) {
        const r = secondOrderUpdate(model, tensors, trajectory, set);
        ratio2 = l2Distance(r.weights, exact) / shift;
        secondOrderSeconds = r.seconds;
      }
      rows.push({ m, shift, ratio: l2Distance(first, exact) / shift, ratio2, secondOrderSeconds });
      process.stderr.write(
        `sweep: m = ${m}: ratio ${rows.at(-1)!.ratio.toFixed(4)}${ratio2 === null ? '' : `, second order ${ratio2.toFixed(4)}`}\n`,
      );
    }
  } finally {
    tensors.dispose();
    await fresh.close();
  }
  return rows;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
