// Where the tail of one forget() comes from (bench verify reports p99 of several ms against a
// median of 0.2 ms): times 400 forgets on a memory store, MNIST logistic d = 7850, and prints the
// slow ones; run with --trace-gc to see the collections beside them, SKIP=20 to leave out the
// first (warm-up) forgets. `node apps/server/bench/forget-tail.mjs` after building.
import { createModel, useBackend } from '@lethe/autodiff';
import { loadMnist, subset } from '@lethe/datasets';
import { PAPER_LOGISTIC, recollect, storeIdentity, train, Unlearner } from '@lethe/recollect';
import { createMemoryStore } from '@lethe/store';

await useBackend('wasm');
const data = subset(loadMnist().train, 1000, 42);
const model = createModel('logistic', { inputShape: data.featureShape, classes: 10 });
const { trajectory } = train(model, data, { ...PAPER_LOGISTIC, epochs: 2 });
const store = createMemoryStore(storeIdentity(model, trajectory));
await recollect({ model, data, trajectory, store, workers: 1 });
const u = await Unlearner.open(model, trajectory, { kind: 'store', store });
globalThis.gc?.();
const total = [];
for (let id = 0; id < 400; id++) {
  const t0 = performance.now();
  await u.forget(id);
  const dt = performance.now() - t0;
  total.push(dt);
  if (dt > 1) console.log(`SLOW forget ${id}: ${dt.toFixed(2)} ms`);
  else if (process.env.MARK) console.log(`ok ${id}`);
}
const s = [...total.slice(Number(process.env.SKIP ?? 0))].sort((a, b) => a - b);
const p = (q) => s[Math.ceil(q * s.length) - 1].toFixed(3);
console.log(`forget: p50 ${p(0.5)} p90 ${p(0.9)} p99 ${p(0.99)} max ${s.at(-1).toFixed(3)} ms`);
const slow = total
  .map((t, i) => [t, i])
  .filter(([t]) => t > 1)
  .map(([t, i]) => `${i}:${t.toFixed(2)}`);
console.log('slow (>1ms):', slow.join(' '));
