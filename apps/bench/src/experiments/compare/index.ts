import { LetheError } from '@lethe/core';
import { defineExperiment } from '../../experiment.js';
import { COMMON_FLAGS } from '../../flags.js';
import { SETTING_FLAG, SETTINGS_HELP } from '../../settings/index.js';
import { mergeCompare } from './merge.js';
import { ALL_METHODS, type CompareFlags, PAPER_DELETIONS, SETTINGS } from './options.js';
import { compareOutput } from './report.js';
import { runCompare } from './run.js';

interface CompareCommand {
  readonly flags: CompareFlags;
  /** Result directories to merge instead of running. */
  readonly merge?: readonly string[] | undefined;
}

export const compare = defineExperiment<CompareCommand>({
  name: 'compare',
  summary: 'every unlearning method side by side with retraining over a deletion sweep',
  description: `Newton step, infinitesimal jackknife, their CG variants, fine-tune, negative
gradient and Hessian-free (hessian-free-2: with the second-order refinement; newton-cg@batch:
the exact Newton step of the |B| counterfactual's objective) against retraining: distance,
accuracy, precompute time, storage, time per request, mean and spread over seeds. Results are
rewritten after every method. The logistic setting takes about 30 minutes for 3 seeds here;
the CNN most of an hour per seed (run one seed per process, then --merge).
--settings resnet: the small ResNet (batch normalisation in inference mode, d = 19,810) on
MNIST, n 512, E 3, |B| 64, lambda 1e-2, 50 deletions, approximators computed lazily for the
forgotten samples against fine-tune, negative gradient and retraining (13 minutes per
seed here on a loaded machine; --quick: n 64, E 2, |B| 32, 8 deletions, 1 seed, well under a minute).
--quick: logistic regression on small blobs, deletions 5,10,20, 2 seeds (seconds).
--merge DIR1,DIR2,...: one report over runs made apart (a seed per process).
--setting NAME: one row of the paper's settings, with its deletion counts and the authors'
seeds (wine-mlp: the authors' published Wine table beside Lethe's, 6 seeds, 3-7 minutes).${SETTINGS_HELP}`,
  flags: {
    settings: {
      type: 'strings',
      choices: SETTINGS,
      help: 'paper settings to run',
      default: 'logistic,cnn (--quick logistic)',
    },
    ...SETTING_FLAG,
    dataset: { type: 'string', help: 'data set (as verify)', default: 'mnist (--quick blobs)' },
    deletions: {
      type: 'integers',
      min: 1,
      help: 'deletion counts',
      default: `${PAPER_DELETIONS.join(',')} (--quick 5,10,20)`,
    },
    seeds: {
      type: 'integer',
      min: 1,
      help: 'seeds per setting',
      default: "3 (--quick 2); a named setting's own seeds",
    },
    seed: {
      type: 'integer',
      min: 0,
      max: 2 ** 32 - 1,
      help: 'first seed (consecutive seeds from it)',
      default: "42, or a named setting's seeds",
    },
    methods: { type: 'strings', choices: ALL_METHODS, help: 'methods to run', default: 'all' },
    workers: { type: 'integer', min: 1, max: 64, help: 'worker threads', default: '2 on the CNN' },
    'cnn-explicit': { type: 'boolean', help: 'explicit-Hessian methods on the CNN too (hours)' },
    'code-retrain': {
      type: 'boolean',
      help: "also retrain with the authors' |B \\ U| normaliser (default on for logistic only)",
    },
    'finetune-epochs': { type: 'integer', min: 1, help: 'fine-tune epochs', default: '2' },
    'neggrad-steps': { type: 'integer', min: 1, help: 'negative-gradient steps', default: '5' },
    n: { type: 'integer', min: 2, help: 'training samples', default: '1000' },
    epochs: { type: 'integer', min: 1, help: 'epochs', default: "the paper's" },
    merge: { type: 'strings', help: 'merge these result directories into one report' },
    ...COMMON_FLAGS,
  },
  resolve(v) {
    const quick = v.boolean('quick');
    const setting = v.string('setting');
    if (setting !== undefined && v.has('settings')) {
      throw new LetheError(
        'invalid-argument',
        '--setting and --settings both name what to run: give one of them.',
      );
    }
    return {
      merge: v.strings('merge'),
      flags: {
        settings:
          setting !== undefined
            ? [setting]
            : (v.strings('settings') ?? (quick ? ['logistic'] : ['logistic', 'cnn'])),
        dataset: v.string('dataset'),
        deletions: v.numbers('deletions'),
        seeds: v.number('seeds'),
        seed: v.number('seed') ?? 42,
        seedGiven: v.has('seed'),
        methods: v.strings('methods'),
        workers: v.number('workers'),
        cnnExplicit: v.boolean('cnn-explicit'),
        codeRetrain: v.has('code-retrain') ? v.boolean('code-retrain') : undefined,
        finetuneEpochs: v.number('finetune-epochs'),
        neggradSteps: v.number('neggrad-steps'),
        n: v.number('n'),
        epochs: v.number('epochs'),
        backend: v.string('backend'),
        quick,
      },
    };
  },
  async run(command, context) {
    if (command.merge) return compareOutput(mergeCompare(command.merge));
    const parts = await runCompare(command.flags, (partial) =>
      context.checkpoint(compareOutput(partial)),
    );
    return compareOutput(parts);
  },
});
