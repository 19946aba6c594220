import type { Model } from '@lethe/autodiff';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import type { DataTensors } from './data.js';
import { sgdStep } from './step.js';
import type { Trajectory } from './trajectory.js';

/**
 * Walks the weights w_t of a recorded run forward in t: from a checkpoint when there is one,
 * else by replaying the recorded steps from the nearest earlier checkpoint.
 */
export class WeightsCursor {
  private t = -1;
  private w: tf.Tensor1D | null = null;

  constructor(
    private readonly model: Model,
    private readonly data: DataTensors,
    private readonly trajectory: Trajectory,
  ) {}

  /** w_t; the tensor is owned by the cursor and valid until the next call. */
  at(t: number): tf.Tensor1D {
    if (t === this.t && this.w) return this.w;
    const saved = this.trajectory.checkpoints.get(t);
    if (saved) return this.set(t, tf.tensor1d(saved));
    let from = this.t >= 0 && this.t < t ? this.t : -1;
    if (from < 0) {
      from = Math.max(...[...this.trajectory.checkpoints.keys()].filter((c) => c <= t));
      this.set(from, tf.tensor1d(this.trajectory.checkpoints.get(from)!));
    }
    const { config } = this.trajectory;
    for (let s = from; s < t; s++) {
      const step = this.trajectory.steps[s]!;
      const batch = this.data.gather(step.batch);
      const { next, clip } = sgdStep(this.model, this.w!, batch, step.eta, config.clip, config.l2);
      tf.dispose([batch.x, batch.labels]);
      if (clip.norm !== step.clip.norm) {
        next.dispose();
        throw new LetheError(
          'mismatch',
          `Replay of step ${s} does not reproduce the recorded run (gradient norm ${clip.norm} vs ${step.clip.norm}); it was recorded on backend "${this.trajectory.backend}": replay on that backend, or keep checkpoints every step.`,
        );
      }
      this.set(s + 1, next);
    }
    return this.w!;
  }

  private set(t: number, w: tf.Tensor1D): tf.Tensor1D {
    this.w?.dispose();
    this.w = w;
    this.t = t;
    return w;
  }

  dispose(): void {
    this.w?.dispose();
    this.w = null;
    this.t = -1;
  }
}
