#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { DEFAULT_EPSILONS, runCertify } from './certify.js';
import { mergeCompare, runCompare } from './compare.js';
import { runKernels } from './kernels/run.js';
import { MIA_DEFAULTS, MIA_QUICK, runMia } from './mia.js';
import { runVerify } from './verify.js';

const USAGE = `Usage: pnpm bench <experiment> [flags]

Experiments:
  kernels   batched Hessian-matrix products vs single products, FLOP rate, 1 vs 2 workers
            flags: --models a,b  --backends wasm,cpu  --k 256  --quick  --out DIR
  verify    train, recollect, forget M samples, compare with real retraining (the main job)
            flags: --model logistic|mlp|cnn|lenet  --dataset mnist|idx:DIR|csv:FILE  --n 1000
                   --epochs E  --batch-size B  --lr ETA  --lr-decay Q  --clip C  --l2 LAMBDA
                   --forget 50  --seed 42  --workers 2  --block-size K  --lazy  --quick  --out DIR
                   --order 2 (second-order refinement)  --sweep 10,50,100,200,300 (ratio vs deletions)

  certify   accuracy and distance of the certified (noised) release vs epsilon, paper bound with
            rho = 1 and with measured rho; a certificate and its verification
            flags: as verify, plus --delta 1e-5  --epsilons 0.1,1,10  --draws 3  --rho-steps 10
  compare   every unlearning method side by side with retraining over a deletion sweep
            (Newton step, infinitesimal jackknife, their CG variants, fine-tune, negative
            gradient, Hessian-free; hessian-free-2: with the second-order refinement;
            newton-cg@batch: the exact Newton step of the |B| counterfactual's objective):
            distance, accuracy, precompute, storage, time per request
            flags: --settings logistic,cnn (default both; the CNN takes most of an hour per seed)
                   --deletions 10,50,100,200,300
                   --seeds 3  --seed 42  --methods a,b  --workers 2  --cnn-explicit
                   --code-retrain (also retrain with |B \\ U|; default on for logistic only)
                   --finetune-epochs 2  --neggrad-steps 5  --n N  --epochs E  --quick  --out DIR
            --merge DIR1,DIR2,... --out DIR: one report over runs made apart (a seed per process)
            --quick: logistic regression on small blobs, deletions 5,10,20, 2 seeds (seconds)
  mia       membership inference on the paper's logistic MNIST setting (pool 2n, target on a
            random half): LiRA (MIA-L) on the original model (AUC, TPR at 1% / 0.1% FPR); MIA-U
            (Chen et al.) after Hessian-free unlearning of --forget members, at noise levels
            sigma = 0, the AGM sigma of each --epsilons (paper bound; rho = 1, or measured on
            --rho-steps K steps of the target's run) and --sigmas:
            five features x logistic / MLP attacks trained on unlearned shadows, scored on the
            target's held-out pairs; test accuracy per sigma; ROC plots
            flags: --shadows 16  --unlearn-shadows 4  --forget 100  --epsilons 1,10,100,1000
                   --sigmas 0.003,0.01,0.03  --delta 1e-5  --rho-steps 0  --n N  --seed 42
                   --workers 1
                   --quick (blobs, 4 shadows, seconds)  --out DIR

Common: --backend node|wasm|cpu (or LETHE_BACKEND)
Defaults of verify: the paper's logistic MNIST setting (n 1000, E 15, |B| 32, eta 0.05,
q 0.995, C 5, lambda 0.5) with 50 deletions, on the bundled MNIST digits.`;

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new Error(`--${name} expects a number, got "${v}".`);
  return x;
}

function parseOrder(v: string | undefined): 1 | 2 {
  if (v === undefined || v === '1') return 1;
  if (v === '2') return 2;
  throw new Error(`--order expects 1 or 2, got "${v}".`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      model: { type: 'string' },
      models: { type: 'string' },
      dataset: { type: 'string' },
      n: { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'lr-decay': { type: 'string' },
      clip: { type: 'string' },
      l2: { type: 'string' },
      forget: { type: 'string' },
      seed: { type: 'string' },
      workers: { type: 'string' },
      'block-size': { type: 'string' },
      lazy: { type: 'boolean', default: false },
      order: { type: 'string' },
      sweep: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      backend: { type: 'string' },
      backends: { type: 'string' },
      k: { type: 'string' },
      delta: { type: 'string' },
      epsilons: { type: 'string' },
      draws: { type: 'string' },
      'rho-steps': { type: 'string' },
      settings: { type: 'string' },
      deletions: { type: 'string' },
      seeds: { type: 'string' },
      methods: { type: 'string' },
      'cnn-explicit': { type: 'boolean', default: false },
      'code-retrain': { type: 'boolean' },
      merge: { type: 'string' },
      'finetune-epochs': { type: 'string' },
      'neggrad-steps': { type: 'string' },
      shadows: { type: 'string' },
      'unlearn-shadows': { type: 'string' },
      sigmas: { type: 'string' },
    },
  });
  const experiment = {
    model: values.model ?? 'logistic',
    dataset: values.dataset ?? 'mnist',
    n: num(values.n, 'n'),
    epochs: num(values.epochs, 'epochs'),
    batchSize: num(values['batch-size'], 'batch-size'),
    lr: num(values.lr, 'lr'),
    lrDecay: num(values['lr-decay'], 'lr-decay'),
    clip: num(values.clip, 'clip'),
    l2: num(values.l2, 'l2'),
    seed: num(values.seed, 'seed') ?? 42,
    backend: values.backend,
    quick: values.quick ?? false,
  };
  switch (command) {
    case 'kernels':
      await runKernels({
        out: values.out,
        models: values.models?.split(','),
        backends: values.backends?.split(',') ?? (values.backend ? [values.backend] : undefined),
        k: num(values.k, 'k') ?? 256,
        quick: values.quick ?? false,
      });
      return;
    case 'verify':
      await runVerify({
        ...experiment,
        forget: num(values.forget, 'forget') ?? (experiment.quick ? 10 : 50),
        workers: num(values.workers, 'workers'),
        blockSize: num(values['block-size'], 'block-size'),
        lazy: values.lazy ?? false,
        order: parseOrder(values.order),
        sweep: values.sweep?.split(',').map((v) => num(v, 'sweep')!),
        out: values.out,
      });
      return;
    case 'certify':
      await runCertify({
        ...experiment,
        forget: num(values.forget, 'forget') ?? (experiment.quick ? 10 : 50),
        delta: num(values.delta, 'delta') ?? 1e-5,
        epsilons: values.epsilons?.split(',').map((v) => num(v, 'epsilons')!) ?? DEFAULT_EPSILONS,
        draws: num(values.draws, 'draws') ?? (experiment.quick ? 1 : 3),
        rhoSteps: num(values['rho-steps'], 'rho-steps') ?? (experiment.quick ? 3 : 10),
        workers: num(values.workers, 'workers'),
        out: values.out,
      });
      return;
    case 'compare':
      if (values.merge !== undefined) {
        mergeCompare(values.merge.split(','), values.out);
        return;
      }
      await runCompare({
        settings:
          values.settings?.split(',') ?? (values.quick ? ['logistic'] : ['logistic', 'cnn']),
        dataset: values.dataset,
        deletions: values.deletions?.split(',').map((v) => num(v, 'deletions')!),
        seeds: num(values.seeds, 'seeds'),
        seed: experiment.seed,
        methods: values.methods?.split(','),
        workers: num(values.workers, 'workers'),
        cnnExplicit: values['cnn-explicit'] ?? false,
        codeRetrain: values['code-retrain'],
        finetuneEpochs: num(values['finetune-epochs'], 'finetune-epochs'),
        neggradSteps: num(values['neggrad-steps'], 'neggrad-steps'),
        n: experiment.n,
        epochs: experiment.epochs,
        backend: values.backend,
        quick: experiment.quick,
        out: values.out,
      });
      return;
    case 'mia': {
      const quick = experiment.quick;
      await runMia({
        ...experiment,
        dataset: values.dataset ?? (quick ? MIA_QUICK.dataset : 'mnist'),
        shadows:
          num(values.shadows, 'shadows') ?? (quick ? MIA_QUICK.shadows : MIA_DEFAULTS.shadows),
        unlearnShadows:
          num(values['unlearn-shadows'], 'unlearn-shadows') ??
          (quick ? MIA_QUICK.unlearnShadows : MIA_DEFAULTS.unlearnShadows),
        forget: num(values.forget, 'forget') ?? (quick ? MIA_QUICK.forget : MIA_DEFAULTS.forget),
        delta: num(values.delta, 'delta') ?? MIA_DEFAULTS.delta,
        epsilons:
          values.epsilons?.split(',').map((v) => num(v, 'epsilons')!) ?? MIA_DEFAULTS.epsilons,
        sigmas: values.sigmas?.split(',').map((v) => num(v, 'sigmas')!) ?? MIA_DEFAULTS.sigmas,
        rhoSteps: num(values['rho-steps'], 'rho-steps') ?? MIA_DEFAULTS.rhoSteps,
        workers: num(values.workers, 'workers'),
        out: values.out,
      });
      return;
    }
    default:
      throw new Error(`Unknown experiment "${command}".\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
