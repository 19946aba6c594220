import { l2Distance } from '@lethe/evaluate';
import { recollect, retrain, type TrainConfig, train } from '@lethe/recollect';
import { accuracyOn, backendRecord } from '../../measure.js';
import { type Experiment, forgetAndRemain, setUp } from '../../setup.js';
import {
  type AblateFlags,
  type Grids,
  PAPER_CNN_EPOCHS,
  PAPER_GRIDS,
  QUICK_GRIDS,
} from './options.js';
import { type RepairCurve, runRepairCurve } from './repair.js';

/** One trained, unlearned and retrained run of an ablation grid. */
export interface AblationPoint {
  /** The value varied (eta_0, E, C or, for decay, E). */
  readonly value: number;
  /** For the decay ablation, q. */
  readonly decay?: number;
  /** ||w_HF - w_retrain|| / ||w - w_retrain||. */
  readonly ratio: number;
  readonly distance: number;
  readonly shift: number;
  readonly testAccuracy: {
    readonly original: number;
    readonly hf: number;
    readonly retrain: number;
  };
  readonly clippedSteps: number;
  readonly steps: number;
  readonly seconds: number;
}

export interface Sweep {
  readonly ablation: string;
  /** What value means. */
  readonly parameter: string;
  readonly points: AblationPoint[];
}

/**
 * Trains with the configuration, computes the forgotten samples' approximators (those ids only:
 * they equal a full precompute's rows), forgets them at once, and retrains exactly.
 */
async function point(
  exp: Experiment,
  config: TrainConfig,
  forget: readonly number[],
  workers: number,
  label: Pick<AblationPoint, 'value' | 'decay'>,
): Promise<AblationPoint> {
  const { model, trainingData } = exp;
  const t0 = performance.now();
  const { weights, trajectory } = train(model, trainingData, config);
  const { vectors } = await recollect({
    model,
    data: trainingData,
    trajectory,
    ids: forget,
    workers,
  });
  const hf = Float32Array.from(weights);
  for (let r = 0; r < forget.length; r++) {
    for (let j = 0; j < model.d; j++) hf[j]! += vectors[r * model.d + j]!;
  }
  const retrained = retrain(model, trainingData, trajectory, forget);
  const shift = l2Distance(weights, retrained);
  const distance = l2Distance(hf, retrained);
  const acc = (w: Float32Array) => accuracyOn(model, w, exp.test);
  const out: AblationPoint = {
    ...label,
    ratio: distance / shift,
    distance,
    shift,
    testAccuracy: { original: acc(weights), hf: acc(hf), retrain: acc(retrained) },
    clippedSteps: trajectory.steps.filter((s) => s.clip.clipped).length,
    steps: trajectory.steps.length,
    seconds: (performance.now() - t0) / 1000,
  };
  process.stderr.write(
    `  ${label.decay === undefined ? '' : `q = ${label.decay}, `}${label.value}: ratio ${out.ratio.toFixed(4)}, test acc ${(100 * out.testAccuracy.hf).toFixed(1)}% (${out.seconds.toFixed(1)} s)\n`,
  );
  return out;
}

/** What result.json holds (complete: false while the run goes on). */
export type AblateRecord = {
  readonly complete: boolean;
  readonly config: Readonly<Record<string, unknown>> & {
    readonly model: string;
    readonly d: number;
  };
  readonly backend: string;
  readonly backendDetail: ReturnType<typeof backendRecord>;
  readonly seed: number;
  readonly grids: Grids;
  readonly sweeps: readonly Sweep[];
  readonly repair: RepairCurve | null;
  readonly totalSeconds: number;
};

/** `pnpm bench ablate`: the paper's ablations, one sweep per ablation, and the repair curve. */
export async function runAblate(
  flags: AblateFlags,
  checkpoint?: (r: AblateRecord) => void,
): Promise<AblateRecord> {
  const started = performance.now();
  const exp = await setUp(flags);
  const { model, config, trainingData } = exp;
  const { forget } = forgetAndRemain(trainingData.n, flags.forget, flags.seed);
  const base = flags.quick ? QUICK_GRIDS : PAPER_GRIDS;
  const grids: Grids =
    !flags.quick && (model.name === 'cnn' || flags.model === 'cnn')
      ? { ...base, epochs: PAPER_CNN_EPOCHS }
      : base;
  process.stderr.write(
    `ablate: ${model.name} (d = ${model.d}) on ${flags.dataset}, n = ${trainingData.n}, ${JSON.stringify(config)}, forget ${forget.length}, backend ${exp.backend.name}\n`,
  );
  const sweeps: Sweep[] = [];
  let repairCurve: RepairCurve | null = null;
  const record = (complete: boolean): AblateRecord => ({
    complete,
    config: {
      setting: flags.setting ?? null,
      model: model.name,
      d: model.d,
      dataset: flags.dataset,
      n: trainingData.n,
      forget: forget.length,
      ...config,
    },
    backend: exp.backend.name,
    backendDetail: backendRecord(exp.backend),
    seed: flags.seed,
    grids,
    sweeps: [...sweeps],
    repair: repairCurve,
    totalSeconds: (performance.now() - started) / 1000,
  });
  const sweep = async (
    ablation: string,
    parameter: string,
    configs: { config: TrainConfig; label: Pick<AblationPoint, 'value' | 'decay'> }[],
  ) => {
    process.stderr.write(`${ablation}:\n`);
    const s: Sweep = { ablation, parameter, points: [] };
    sweeps.push(s);
    for (const c of configs)
      s.points.push(await point(exp, c.config, forget, flags.workers, c.label));
    checkpoint?.(record(false));
  };
  for (const ablation of flags.ablations) {
    switch (ablation) {
      case 'step-size':
        await sweep(
          ablation,
          'step size eta_0',
          grids.stepSize.map((lr) => ({ config: { ...config, lr }, label: { value: lr } })),
        );
        break;
      case 'epochs':
        await sweep(
          ablation,
          'epochs E',
          grids.epochs.map((epochs) => ({
            config: { ...config, epochs },
            label: { value: epochs },
          })),
        );
        break;
      case 'clip':
        await sweep(
          ablation,
          'clipping threshold C',
          grids.clip.map((clip) => ({ config: { ...config, clip }, label: { value: clip } })),
        );
        break;
      case 'decay':
        await sweep(
          ablation,
          'epochs E (per decay q)',
          grids.decays.flatMap((lrDecay) =>
            grids.decayEpochs.map((epochs) => ({
              config: { ...config, lrDecay, epochs },
              label: { value: epochs, decay: lrDecay },
            })),
          ),
        );
        break;
      case 'repair':
        process.stderr.write('repair:\n');
        repairCurve = await runRepairCurve(exp, flags);
        checkpoint?.(record(false));
        break;
    }
  }
  return record(true);
}
