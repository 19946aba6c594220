import { defineExperiment } from '../../experiment.js';
import { COMMON_FLAGS } from '../../flags.js';
import { type KernelsOptions, kernelsOutput, runKernels } from './run.js';

export const kernels = defineExperiment<KernelsOptions>({
  name: 'kernels',
  summary: 'batched Hessian-matrix products against single products, FLOP rate, 1 vs 2 workers',
  description: `Times the Hessian-matrix product of each model over K vectors at once against K
single products, its GFLOP/s against the same backend's matMul, and 2 worker threads against
one. A few minutes for every model on wasm; --quick in seconds.`,
  flags: {
    models: { type: 'strings', help: 'models to measure', default: 'every registered model' },
    backends: {
      type: 'strings',
      choices: ['node', 'wasm', 'cpu'],
      help: 'backends to measure (--backend names one)',
      default: 'every available backend',
    },
    k: { type: 'integer', min: 1, help: 'vectors per product', default: '256' },
    ...COMMON_FLAGS,
  },
  resolve(v) {
    const backend = v.string('backend');
    return {
      models: v.strings('models'),
      backends: v.strings('backends') ?? (backend ? [backend] : undefined),
      k: v.number('k') ?? 256,
      quick: v.boolean('quick'),
    };
  },
  async run(options) {
    return kernelsOutput(await runKernels(options));
  },
});
