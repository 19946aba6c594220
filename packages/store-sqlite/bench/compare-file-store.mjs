// Throughput of the SQLite store against the file store of @lethe/store, run side by side on the
// same rows in the same temporary directory. Build both packages first:
//   pnpm --filter @lethe/store-sqlite... build
//   node packages/store-sqlite/bench/compare-file-store.mjs [--n 2000] [--d 2500] [--reps 5]
//        [--dtype float32|float16] [--block 500] [--page-size 4096] [--write-order shuffled|ascending]
// Each repetition creates a fresh store of each kind and times, in order: writing all rows (one
// call per block of ids), reading random ids (calls of `block` ids), sweeping every row by
// readBlock, erasing 1% of the rows (calls of 5 ids), and reopening (with the full check).
// Reported: the median of the repetitions per operation, and sqlite / file as a ratio of
// throughputs (above 1: SQLite is faster).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openFileStore } from '@lethe/store';
import { openSqliteStore } from '../dist/index.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    d: { type: 'string', default: '2500' },
    reps: { type: 'string', default: '5' },
    dtype: { type: 'string', default: 'float32' },
    block: { type: 'string', default: '500' },
    'page-size': { type: 'string' },
    'write-order': { type: 'string', default: 'shuffled' },
  },
});
const n = Number(args.n);
const d = Number(args.d);
const reps = Number(args.reps);
const block = Number(args.block);
const dtype = args.dtype;
const sqliteOptions = args['page-size'] ? { pageSize: Number(args['page-size']) } : {};
const identity = {
  modelDigest: 'bench-model',
  layoutDigest: 'bench-layout',
  trajectoryDigest: 'bench-trajectory',
  d,
  dtype,
};
const bytesPerRow = d * (dtype === 'float16' ? 2 : 4);

/** A seeded generator, so that both stores see the same ids and rows. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(count, next) {
  const ids = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  return ids;
}

const next = random(42);
const rows = new Float32Array(n * d).map(() => next() * 2 - 1);
const shuffledWrites = shuffled(n, next);
// shuffled: every call writes ids scattered over the whole range (the worst case for a B-tree);
// ascending: call k writes ids k*block.. (how a recollection pass produces them).
const writeOrder =
  args['write-order'] === 'ascending' ? Array.from({ length: n }, (_, i) => i) : shuffledWrites;
const readOrder = shuffled(n, next);
const eraseIds = shuffled(n, next).slice(0, Math.max(5, Math.floor(n / 100)));

const adapters = {
  file: {
    create: (dir) => openFileStore(join(dir, 'file-store'), identity, { create: true }),
    reopen: (dir) => openFileStore(join(dir, 'file-store'), identity),
  },
  sqlite: {
    create: (dir) =>
      openSqliteStore(join(dir, 'store.sqlite'), identity, { ...sqliteOptions, create: true }),
    reopen: (dir) => openSqliteStore(join(dir, 'store.sqlite'), identity, sqliteOptions),
  },
};

async function time(body) {
  const start = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Seconds per operation for one fresh store. */
async function runOnce(adapter, dir) {
  const store = await adapter.create(dir);
  const out = {};
  out.write = await time(async () => {
    for (let from = 0; from < n; from += block) {
      const ids = writeOrder.slice(from, from + block);
      const blockRows = new Float32Array(ids.length * d);
      ids.forEach((id, i) => blockRows.set(rows.subarray(id * d, (id + 1) * d), i * d));
      await store.writeRows(ids, blockRows);
    }
  });
  out.readRows = await time(async () => {
    for (let from = 0; from < n; from += block)
      await store.readRows(readOrder.slice(from, from + block));
  });
  out.readBlock = await time(async () => {
    for (let start = 0; start < n; start += block) {
      await store.readBlock(start, Math.min(block, n - start));
    }
  });
  out.erase = await time(async () => {
    for (let k = 0; k < eraseIds.length; k += 5) await store.erase(eraseIds.slice(k, k + 5));
  });
  await store.close();
  out.open = await time(async () => {
    await (await adapter.reopen(dir)).close();
  });
  return out;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const samples = { file: [], sqlite: [] };
for (let r = 0; r < reps; r++) {
  // Alternate which store goes first, so neither always meets a cold or a warm page cache.
  const order = r % 2 === 0 ? ['file', 'sqlite'] : ['sqlite', 'file'];
  for (const name of order) {
    const dir = await mkdtemp(join(tmpdir(), `lethe-bench-${name}-`));
    try {
      samples[name].push(await runOnce(adapters[name], dir));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

const mb = (n * bytesPerRow) / 2 ** 20;
const work = {
  write: [mb, 'MiB/s'],
  readRows: [mb, 'MiB/s'],
  readBlock: [mb, 'MiB/s'],
  erase: [eraseIds.length, 'rows/s'],
  open: [mb, 'MiB/s'],
};
console.log(
  `n = ${n}, d = ${d}, ${dtype} (${mb.toFixed(1)} MiB of rows), calls of ${block} ids, erase ${eraseIds.length} rows in calls of 5, ${args['write-order']} writes, median of ${reps} repetitions${args['page-size'] ? `, SQLite page size ${args['page-size']}` : ''}`,
);
console.log('operation   file            sqlite          sqlite/file');
for (const [op, [amount, unit]] of Object.entries(work)) {
  const file = amount / median(samples.file.map((s) => s[op]));
  const sqlite = amount / median(samples.sqlite.map((s) => s[op]));
  const cell = (v) => `${v.toFixed(1)} ${unit}`.padEnd(16);
  console.log(`${op.padEnd(12)}${cell(file)}${cell(sqlite)}${(sqlite / file).toFixed(2)}`);
}
