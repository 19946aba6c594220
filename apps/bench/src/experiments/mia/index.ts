import { defineExperiment } from '../../experiment.js';
import { COMMON_FLAGS, TRAINING_FLAGS } from '../../flags.js';
import { SETTINGS_HELP } from '../../settings/index.js';
import { readTrainingFlags } from '../../setup.js';
import { MIA_DEFAULTS, MIA_QUICK, type MiaFlags } from './options.js';
import { miaOutput } from './report.js';
import { runMia } from './run.js';
import { checkMiaFlags } from './setting.js';

export const mia = defineExperiment<MiaFlags>({
  name: 'mia',
  summary: 'membership inference: LiRA on the model, MIA-U after unlearning at noise levels',
  description: `The paper's logistic MNIST setting with a pool of 2n samples, the target trained
on a random half. LiRA (MIA-L) on the original model: AUC, TPR at 1% and 0.1% FPR. MIA-U
(Chen et al.) after Hessian-free unlearning of --forget members, at noise sigma = 0, the
analytic-Gaussian sigma of each --epsilons (paper bound; rho = 1, or measured on --rho-steps
steps of the target's run) and each --sigmas: five features x logistic / MLP attacks trained on
unlearned shadows and scored on the target's held-out pairs; test accuracy per sigma; ROC plots.
About 2 minutes here; --quick (blobs, 4 shadows) in seconds.${SETTINGS_HELP}`,
  flags: {
    ...TRAINING_FLAGS,
    shadows: {
      type: 'integer',
      min: 2,
      help: 'LiRA shadow models (even)',
      default: `${MIA_DEFAULTS.shadows} (--quick ${MIA_QUICK.shadows})`,
    },
    'unlearn-shadows': {
      type: 'integer',
      min: 1,
      help: 'shadows that are also unlearned (MIA-U)',
      default: `${MIA_DEFAULTS.unlearnShadows} (--quick ${MIA_QUICK.unlearnShadows})`,
    },
    forget: {
      type: 'integer',
      min: 1,
      help: 'samples each model forgets',
      default: `${MIA_DEFAULTS.forget} (--quick ${MIA_QUICK.forget})`,
    },
    delta: {
      type: 'number',
      min: 0,
      max: 1,
      exclusiveMin: true,
      help: 'delta',
      default: `${MIA_DEFAULTS.delta}`,
    },
    epsilons: {
      type: 'numbers',
      min: 0,
      exclusiveMin: true,
      help: 'noise levels as privacy targets',
      default: MIA_DEFAULTS.epsilons.join(','),
    },
    sigmas: {
      type: 'numbers',
      min: 0,
      help: 'noise levels as sigma',
      default: MIA_DEFAULTS.sigmas.join(','),
    },
    'rho-steps': {
      type: 'integer',
      min: 0,
      help: 'steps sampled for rho (0: rho = 1)',
      default: '0',
    },
    workers: {
      type: 'integer',
      min: 1,
      max: 64,
      help: 'worker threads for lazy unlearning',
      default: '1',
    },
    ...COMMON_FLAGS,
  },
  resolve(v) {
    const quick = v.boolean('quick');
    const flags: MiaFlags = {
      ...readTrainingFlags(v, { dataset: quick ? MIA_QUICK.dataset : 'mnist' }),
      shadows: v.number('shadows') ?? (quick ? MIA_QUICK.shadows : MIA_DEFAULTS.shadows),
      unlearnShadows:
        v.number('unlearn-shadows') ??
        (quick ? MIA_QUICK.unlearnShadows : MIA_DEFAULTS.unlearnShadows),
      forget: v.number('forget') ?? (quick ? MIA_QUICK.forget : MIA_DEFAULTS.forget),
      delta: v.number('delta') ?? MIA_DEFAULTS.delta,
      epsilons: v.numbers('epsilons') ?? MIA_DEFAULTS.epsilons,
      sigmas: v.numbers('sigmas') ?? MIA_DEFAULTS.sigmas,
      rhoSteps: v.number('rho-steps') ?? MIA_DEFAULTS.rhoSteps,
      workers: v.number('workers'),
    };
    checkMiaFlags(flags);
    return flags;
  },
  async run(flags) {
    return miaOutput(flags, await runMia(flags));
  },
});
