import { defineExperiment } from '../../experiment.js';
import { COMMON_FLAGS, TRAINING_FLAGS, UNLEARNING_FLAGS } from '../../flags.js';
import { SETTINGS_HELP } from '../../settings/index.js';
import { checkForgetCount, presetOf, readForget, readTrainingFlags } from '../../setup.js';
import type { VerifyFlags } from './options.js';
import { verifyOutput } from './report.js';
import { runVerify } from './run.js';

export const verify = defineExperiment<VerifyFlags>({
  name: 'verify',
  summary: 'train, recollect, forget M samples one request at a time, compare with retraining',
  description: `The main job. Trains with a recorded trajectory, computes every approximator,
forgets --forget samples one request at a time, and compares the unlearned weights with the
exactly retrained model (both normalisations of the counterfactual): distances, accuracy on the
test / forgotten / remaining samples, loss-change correlation, times, storage.
Defaults: the paper's logistic MNIST setting (n 1000, E 15, |B| 32, eta 0.05, q 0.995, C 5,
lambda 0.5), 50 deletions, on the bundled MNIST digits (about 20 s on 2 quiet cores);
--quick: n 200, 3 epochs, 10 deletions (seconds). The paper's CNN: --model cnn --lazy
(minutes; its eager precompute takes about 17 minutes here).${SETTINGS_HELP}`,
  flags: {
    ...TRAINING_FLAGS,
    ...UNLEARNING_FLAGS,
    'block-size': {
      type: 'integer',
      min: 1,
      help: 'vectors per Hessian-matrix product',
      default: 'automatic',
    },
    lazy: {
      type: 'boolean',
      help: 'no precompute: the forgotten ids only, at request time',
      default: 'off; on for the settings where the precompute would take hours',
    },
    order: {
      type: 'integer',
      min: 1,
      max: 2,
      help: '2 adds the second-order refinement',
      default: '1',
    },
    sweep: {
      type: 'integers',
      min: 1,
      help: 'deletion counts for a distance-ratio sweep, e.g. 10,50,100,200,300',
    },
    ...COMMON_FLAGS,
  },
  resolve(v) {
    const base = readTrainingFlags(v);
    const forget = readForget(v, base);
    for (const m of v.numbers('sweep') ?? []) checkForgetCount(base, m);
    return {
      ...base,
      forget,
      workers: v.number('workers'),
      blockSize: v.number('block-size'),
      lazy: v.has('lazy') ? v.boolean('lazy') : (presetOf(base)?.lazy ?? false),
      order: v.number('order') === 2 ? 2 : 1,
      sweep: v.numbers('sweep'),
    };
  },
  async run(flags) {
    return verifyOutput(flags, await runVerify(flags));
  },
});
