// The repair curve: distance to retraining as deletions accumulate, applying the stored
// approximators alone, and repairing (docs/method.md#repair) after every round of deletions.
import { l2Distance } from '@lethe/evaluate';
import {
  recollect,
  repair,
  retrain,
  storeIdentity,
  type Trajectory,
  train,
  Unlearner,
} from '@lethe/recollect';
import { replay } from '@lethe/recollect/internals';
import { createMemoryStore } from '@lethe/store';
import { chooseForgetSet, type Experiment } from '../../setup.js';
import type { AblateFlags } from './options.js';

export interface RepairPoint {
  /** Deletions so far. */
  readonly deletions: number;
  /** Approximators of the original run only, summed: distance to the original run retrained. */
  readonly withoutRepair: number;
  /**
   * Approximators of the repaired run: distance to its exact counterfactual, the original run
   * and every continuation replayed without all the deletions so far.
   */
  readonly withRepair: number;
  /** ||w - w^{-U}||: what not unlearning would leave (the original run's). */
  readonly shift: number;
}

export interface RepairCurve {
  readonly rounds: number;
  readonly perRound: number;
  readonly repairEpochs: number;
  readonly points: RepairPoint[];
  readonly repairSeconds: number[];
}

export async function runRepairCurve(exp: Experiment, flags: AblateFlags): Promise<RepairCurve> {
  const { model, config, trainingData: data } = exp;
  const perRound = Math.max(1, Math.floor(flags.forget / flags.rounds));
  const order = chooseForgetSet(data.n, perRound * flags.rounds, flags.seed + 1);
  const { weights, trajectory } = train(model, data, config);
  const original = createMemoryStore(storeIdentity(model, trajectory));
  await recollect({ model, data, trajectory, store: original, workers: flags.workers });
  // Rows of every sample to be forgotten, read before any is erased.
  const rows = await original.readRows(order);
  const withoutRepair = Float32Array.from(weights);

  // With repair: the current run (original, then each continuation), its store and weights.
  const continuations: Trajectory[] = [];
  let current = trajectory;
  let store = original;
  let w = weights;
  const points: RepairPoint[] = [];
  const repairSeconds: number[] = [];
  try {
    for (let k = 0; k < flags.rounds; k++) {
      const round = order.slice(k * perRound, (k + 1) * perRound);
      const gone = order.slice(0, (k + 1) * perRound);
      for (let r = k * perRound; r < (k + 1) * perRound; r++) {
        for (let j = 0; j < model.d; j++) withoutRepair[j]! += rows[r * model.d + j]!;
      }
      const unlearner = await Unlearner.open(model, current, { kind: 'store', store }, w);
      await unlearner.forgetBatch(round);
      w = unlearner.weights;
      const exact = retrain(model, data, trajectory, gone);
      let exactRepaired = exact;
      const removed = new Map(gone.map((id) => [id, 0] as const));
      for (const c of continuations) {
        exactRepaired = replay(model, data, c, {
          sampleWeights: removed,
          initialWeights: exactRepaired,
        });
      }
      const point: RepairPoint = {
        deletions: gone.length,
        withoutRepair: l2Distance(withoutRepair, exact),
        withRepair: l2Distance(w, exactRepaired),
        shift: l2Distance(weights, exact),
      };
      points.push(point);
      process.stderr.write(
        `  ${point.deletions} deletions: without repair ${point.withoutRepair.toExponential(3)}, with ${point.withRepair.toExponential(3)} (not unlearning ${point.shift.toExponential(3)})\n`,
      );
      if (k === flags.rounds - 1) break;
      const t0 = performance.now();
      const repaired = await repair({
        model,
        data,
        trajectory: current,
        weights: w,
        store,
        epochs: flags.repairEpochs,
        round: k + 1,
        workers: flags.workers,
        target: (identity) => createMemoryStore(identity),
      });
      repairSeconds.push((performance.now() - t0) / 1000);
      if (store !== original) await store.close();
      continuations.push(repaired.trajectory);
      current = repaired.trajectory;
      store = repaired.store;
      w = repaired.weights;
    }
  } finally {
    if (store !== original) await store.close();
    await original.close();
  }
  return {
    rounds: flags.rounds,
    perRound,
    repairEpochs: flags.repairEpochs,
    points,
    repairSeconds,
  };
}
