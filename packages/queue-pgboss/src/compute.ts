import { createHash } from 'node:crypto';
import { backendInfo, type Model, rebuildModel, useBackend } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import { computeApproximators, DataTensors, trajectoryDigest } from '@lethe/recollect/internals';
import type pg from 'pg';
import { codeDigest } from './digests.js';
import type { BlockJob } from './job.js';
import { loadRun, type RunBlob } from './run-blob.js';

interface LoadedRun {
  readonly key: string;
  readonly blob: RunBlob;
  readonly model: Model;
  readonly data: DataTensors;
}

/** A worker's state: the run it last loaded (most jobs in a row belong to one run). */
export class BlockComputer {
  private loaded: LoadedRun | undefined;
  /** Seconds the last block's recursion took (its log line shows them beside the total). */
  lastComputeSeconds = Number.NaN;

  constructor(
    private readonly pool: pg.Pool,
    private readonly name: string,
    private readonly onStep?: (step: number, total: number) => void,
  ) {}

  /** Computes one block and inserts its rows; returns false if another worker already had. */
  async process(job: BlockJob): Promise<boolean> {
    if (job.codeDigest !== codeDigest()) {
      throw new LetheError(
        'mismatch',
        `lethe-worker ${this.name}: block ${job.block} was enqueued by code with digest ${job.codeDigest} but this worker runs ${codeDigest()}: run lethe-worker from the same versions of @lethe/recollect, @lethe/autodiff and @tensorflow/tfjs-core as the coordinator.`,
      );
    }
    const run = await this.load(job.run);
    if (run.model.digest !== job.modelDigest) {
      throw new LetheError(
        'mismatch',
        `lethe-worker ${this.name}: the job's model digest is ${job.modelDigest} but the model rebuilt here has ${run.model.digest}: the model's code differs between coordinator and worker; install the same version (and setup modules) on both.`,
      );
    }
    const t = run.blob.trajectory;
    const digest = trajectoryDigest({
      modelDigest: t.model.digest,
      config: t.config,
      dataDigest: t.dataDigest,
      initialWeights: t.checkpoints.get(0)!,
      schedule: t.steps,
    });
    if (digest !== job.trajectoryDigest || t.digest !== job.trajectoryDigest) {
      throw new LetheError(
        'mismatch',
        `lethe-worker ${this.name}: the job names trajectory ${job.trajectoryDigest} but the stored run hashes to ${digest}: the run's record was changed after enqueueing; enqueue the recollection again.`,
      );
    }
    if (t.dataDigest !== job.dataDigest) {
      throw new LetheError(
        'mismatch',
        `lethe-worker ${this.name}: the job names data ${job.dataDigest} but the stored run's is ${t.dataDigest}: enqueue the recollection again.`,
      );
    }
    const ids = Int32Array.from(job.ids);
    const computeStart = performance.now();
    const rows = computeApproximators({
      model: run.model,
      data: run.data,
      trajectory: t,
      ids,
      blockSize: job.blockSize,
      onStep: this.onStep,
    });
    this.lastComputeSeconds = (performance.now() - computeStart) / 1000;
    const bytes = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
    const sha = createHash('sha256').update(bytes).digest('hex');
    // One statement: the block's rows appear whole or not at all. A second finisher of the same
    // block (a retry after an expiry) writes nothing; its bytes are compared instead.
    const inserted = await this.pool.query(
      `INSERT INTO lethe_queue_blocks (call, block, ids, rows, sha256, worker) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (call, block) DO NOTHING`,
      [job.call, job.block, Buffer.from(ids.buffer), bytes, sha, this.name],
    );
    if (inserted.rowCount === 1) return true;
    const { rows: prior } = await this.pool.query<{ sha256: string }>(
      'SELECT sha256 FROM lethe_queue_blocks WHERE call = $1 AND block = $2',
      [job.call, job.block],
    );
    if (prior[0] && prior[0].sha256 !== sha) {
      throw new LetheError(
        'mismatch',
        `lethe-worker ${this.name}: block ${job.block} was already written with SHA-256 ${prior[0].sha256}, and this worker computed ${sha}: the workers do not compute bit for bit alike (another backend or code); the first rows are kept.`,
      );
    }
    return false;
  }

  private async load(key: string): Promise<LoadedRun> {
    if (this.loaded?.key === key) return this.loaded;
    this.loaded?.data.dispose();
    this.loaded = undefined;
    const blob = await loadRun(this.pool, key);
    for (const m of blob.setupModules) await import(m);
    if (backendInfo().name !== blob.backend) await useBackend(blob.backend);
    const model = rebuildModel(blob.recipe);
    this.loaded = { key, blob, model, data: new DataTensors(model, blob.data) };
    return this.loaded;
  }

  dispose(): void {
    this.loaded?.data.dispose();
    this.loaded = undefined;
  }
}
