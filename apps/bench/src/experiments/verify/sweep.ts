import { l2Distance } from '@lethe/evaluate';
import { recollect, retrain, secondOrderUpdate, type Trajectory } from '@lethe/recollect';
import { createMemoryStore, type StoreManifest } from '@lethe/store';
import { chooseForgetSet, type Experiment } from '../../setup.js';
import type { VerifyFlags } from './options.js';

export interface SweepRow {
  readonly m: number;
  readonly shift: number;
  readonly ratio: number;
  readonly ratio2: number | null;
  readonly secondOrderSeconds: number | null;
}

/** Distance ratios for growing deletion sets (first m of one seeded order), without erasing. */
export async function runSweep(
  flags: VerifyFlags,
  exp: Experiment,
  trajectory: Trajectory,
  manifest: StoreManifest,
  weights: Float32Array,
): Promise<SweepRow[]> {
  const { model, trainingData } = exp;
  const counts = flags.sweep!;
  const order = chooseForgetSet(trainingData.n, Math.max(...counts), flags.seed + 1);
  // The verify run erased the forgotten rows from its store: compute the sweep's own rows.
  const fresh = createMemoryStore({ ...manifest });
  const { vectors } = await recollect({
    model,
    data: trainingData,
    trajectory,
    ids: Int32Array.from({ length: trainingData.n }, (_, i) => i),
    workers: flags.workers,
    store: fresh,
  });
  const rows: SweepRow[] = [];
  try {
    for (const m of counts) {
      const set = order.slice(0, m);
      const exact = retrain(model, trainingData, trajectory, set);
      const first = Float32Array.from(weights);
      for (const id of set) {
        for (let j = 0; j < model.d; j++) first[j]! += vectors[id * model.d + j]!;
      }
      const shift = l2Distance(weights, exact);
      let ratio2: number | null = null;
      let secondOrderSeconds: number | null = null;
      if (flags.order === 2) {
        const r = secondOrderUpdate(model, trainingData, trajectory, set);
        ratio2 = l2Distance(r.weights, exact) / shift;
        secondOrderSeconds = r.seconds;
      }
      rows.push({ m, shift, ratio: l2Distance(first, exact) / shift, ratio2, secondOrderSeconds });
      process.stderr.write(
        `sweep: m = ${m}: ratio ${rows.at(-1)!.ratio.toFixed(4)}${ratio2 === null ? '' : `, second order ${ratio2.toFixed(4)}`}\n`,
      );
    }
  } finally {
    await fresh.close();
  }
  return rows;
}
