// Profiles the Hessian-matrix product of a convolutional model on one backend:
//   pnpm --filter @lethe/autodiff build
//   node packages/autodiff/scripts/profile-cnn-hmp.mjs [model=cnn] [K=256] [batch=64] [backend=wasm] [reps=3]
// Prints ms per vector, GFLOP/s (model.hvpFlopsPerSample() * batch per vector: useful
// operations, not the zeros a padded transposed convolution multiplies), the time per layer and
// the time per tfjs kernel (from tf.profile) of one product.
import { createModel, Rng, tf, useBackend } from '../dist/index.js';

const [name = 'cnn', kArg = '256', bArg = '64', backend = 'wasm', repsArg = '3'] =
  process.argv.slice(2);
const k = Number(kArg);
const b = Number(bArg);
const reps = Number(repsArg);
const info = await useBackend(backend);
const model = createModel(name);
const rng = new Rng(1);
const inSize = model.inputShape.reduce((a, s) => a * s, 1);
const x = tf.tensor(
  Float32Array.from({ length: b * inSize }, () => rng.normal()),
  [b, ...model.inputShape],
);
const labels = tf.tensor1d(
  Int32Array.from({ length: b }, () => rng.nextInt(model.numClasses)),
  'int32',
);
const params = model.init(1);
const point = model.at(params, { x, labels });
const v = tf.tensor2d(
  Float32Array.from({ length: k * model.d }, () => rng.normal()),
  [k, model.d],
);
const flops = model.hvpFlopsPerSample() * b;

const once = () => {
  const t0 = performance.now();
  const hv = point.hmp(v, 1e-6);
  const ms = performance.now() - t0;
  hv.dispose();
  return ms;
};
once(); // warm-up: wasm heap growth, XNNPACK operator creation
const times = Array.from({ length: reps }, once).sort((p, q) => p - q);
const best = times[0];
console.log(
  `${name} on ${info.name}: K = ${k}, batch = ${b}, d = ${model.d}; HMP ${times.map((t) => t.toFixed(0)).join(' / ')} ms` +
    ` -> ${(best / k).toFixed(2)} ms per vector, ${(flops / 1e6).toFixed(1)} MFLOP per vector,` +
    ` ${((flops * k) / best / 1e6).toFixed(1)} GFLOP/s`,
);

// Breakdown by kernel (and shape of its first input) over one product.
const profile = await tf.profile(() => {
  const hv = point.hmp(v, 1e-6);
  hv.dispose();
});
const byKernel = new Map();
for (const kernel of profile.kernels) {
  const key = `${kernel.name} ${JSON.stringify(kernel.inputShapes)}`;
  const entry = byKernel.get(key) ?? { ms: 0, calls: 0 };
  entry.ms += kernel.kernelTimeMs;
  entry.calls += 1;
  byKernel.set(key, entry);
}
const total = profile.kernels.reduce((a, kernel) => a + kernel.kernelTimeMs, 0);
const byName = new Map();
for (const kernel of profile.kernels) {
  byName.set(kernel.name, (byName.get(kernel.name) ?? 0) + kernel.kernelTimeMs);
}
console.log(`\nkernel time ${total.toFixed(0)} ms (profiled run), by kernel:`);
for (const [kname, ms] of [...byName].sort((p, q) => q[1] - p[1])) {
  console.log(
    `  ${kname.padEnd(22)} ${ms.toFixed(0).padStart(7)} ms  ${((100 * ms) / total).toFixed(1).padStart(5)}%`,
  );
}
console.log('\nby kernel and input shapes (> 1% of the time):');
for (const [key, { ms, calls }] of [...byKernel].sort((p, q) => q[1].ms - p[1].ms)) {
  if (ms < total / 100) continue;
  console.log(`  ${ms.toFixed(0).padStart(7)} ms  ${String(calls).padStart(3)}x  ${key}`);
}
point.dispose();
tf.dispose([x, labels, v]);
