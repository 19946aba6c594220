import {
  fineTune,
  hessianFree,
  infinitesimalJackknife,
  negativeGradient,
  newtonStep,
  type UnlearningMethod,
} from '@lethe/baselines';
import type { CompareFlags, MethodName, Setting } from './options.js';

/** The method named, with the settings that suit the setting's model. */
export function makeMethod(
  name: MethodName,
  setting: Setting,
  flags: CompareFlags,
  asked: readonly number[],
): UnlearningMethod {
  // The CNN (lambda = 1e-6, not converged) has an indefinite, ill-conditioned Hessian and an
  // HVP over the data costs ~0.6 s here: a looser tolerance, fewer iterations, larger damping.
  const cg =
    setting === 'cnn'
      ? { tolerance: 1e-4, maxIterations: 50 }
      : { tolerance: 1e-5, maxIterations: 300 };
  const damping =
    setting === 'cnn' ? { initialRelative: 1e-3, growth: 10, maxAttempts: 6 } : undefined;
  // The CNN's points (~1.8 MB per sample) do not fit one wasm heap: split them over workers.
  const workers = setting === 'cnn' ? (flags.workers ?? 2) : 1;
  switch (name) {
    case 'hessian-free':
      // The CNN's full precompute takes ~17 min here per seed: precompute the rows the sweep
      // asks for (they equal a full precompute's rows); the record extrapolates the time to n.
      // The ResNet's likewise, as the paper does for ResNet-18 (lazy approximators).
      return hessianFree({
        workers: flags.workers,
        keepForReset: true,
        precomputeIds: setting === 'logistic' ? undefined : asked,
      });
    case 'hessian-free-2':
      // Not in the paper: the first-order sum refined by the second-order recollection.
      return hessianFree({
        workers: flags.workers,
        keepForReset: true,
        precomputeIds: setting === 'logistic' ? undefined : asked,
        order: 2,
      });
    case 'newton':
      return newtonStep({ damping });
    case 'jackknife':
      return infinitesimalJackknife({ damping });
    case 'newton-cg':
      return newtonStep({ solver: 'cg', cg, damping, workers });
    case 'newton-cg@batch':
      // Not a method of the paper: the exact Newton step of the objective the paper's own
      // counterfactual minimises, to show what the stated update's mixed normalisation costs.
      return newtonStep({ solver: 'cg', counterfactual: 'batch', cg, damping, workers });
    case 'jackknife-cg':
      return infinitesimalJackknife({ solver: 'cg', cg, damping, workers });
    case 'fine-tune':
      return fineTune({ epochs: flags.finetuneEpochs ?? 2 });
    case 'negative-gradient':
      return negativeGradient({ steps: flags.neggradSteps ?? 5 });
  }
}
