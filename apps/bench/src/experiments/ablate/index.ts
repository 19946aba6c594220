import { LetheError } from '@lethe/core';
import { defineExperiment } from '../../experiment.js';
import { COMMON_FLAGS, TRAINING_FLAGS } from '../../flags.js';
import { SETTINGS_HELP } from '../../settings/index.js';
import { checkForgetCount, readTrainingFlags } from '../../setup.js';
import { ABLATIONS, type AblateFlags, type Ablation } from './options.js';
import { ablateOutput } from './report.js';
import { runAblate } from './run.js';

export const ablate = defineExperiment<AblateFlags>({
  name: 'ablate',
  summary: "the paper's ablations (step size, epochs, clipping, decay) and the repair curve",
  description: `The paper's ablations on one setting (default logistic MNIST; --setting mnist-cnn for
the CNN): one run per value of the step size eta_0, the epochs E, the clipping threshold C and,
for q in {1, 0.995}, the epochs; each forgets the same --forget samples (the paper: 200) with
the Hessian-free approximators and retrains exactly: distance ratio and test accuracy against
the value (tables and SVG plots). The repair curve: distance to retraining as deletions
accumulate over --rounds rounds, without repair and with a repair after every round.
Logistic: about an hour on the loaded machine (step size, clipping and repair took 21 minutes;
epochs and decay, up to 200 and 60 epochs, are most of the rest); the CNN: many hours (run one
ablation at a time with --ablations). --quick: n 200, 3 epochs, three values per ablation,
10 deletions (logistic: seconds; the CNN: about 5 minutes).${SETTINGS_HELP}`,
  flags: {
    ...TRAINING_FLAGS,
    ablations: {
      type: 'strings',
      choices: ABLATIONS,
      help: 'which ablations to run',
      default: ABLATIONS.join(','),
    },
    forget: { type: 'integer', min: 1, help: 'deletions per point', default: '200 (--quick 10)' },
    rounds: {
      type: 'integer',
      min: 1,
      help: 'repair curve: rounds of deletions',
      default: '10 (--quick 4)',
    },
    'repair-epochs': { type: 'integer', min: 1, help: 'epochs of each repair', default: '1' },
    workers: { type: 'integer', min: 1, max: 64, help: 'worker threads', default: '1' },
    ...COMMON_FLAGS,
  },
  resolve(v) {
    const base = readTrainingFlags(v);
    const forget = v.number('forget') ?? (base.quick ? 10 : 200);
    checkForgetCount(base, forget);
    const rounds = v.number('rounds') ?? (base.quick ? 4 : 10);
    if (rounds > forget) {
      throw new LetheError(
        'invalid-argument',
        `--rounds ${rounds} is more than the ${forget} deletions: use at most --forget rounds.`,
      );
    }
    return {
      ...base,
      ablations: (v.strings('ablations') ?? ABLATIONS) as readonly Ablation[],
      forget,
      rounds,
      repairEpochs: v.number('repair-epochs') ?? 1,
      workers: v.number('workers') ?? 1,
    };
  },
  async run(flags, context) {
    const record = await runAblate(flags, (partial) =>
      context.checkpoint(ablateOutput(flags, partial)),
    );
    return ablateOutput(flags, record);
  },
});
