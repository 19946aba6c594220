import type { BackendName } from '@lethe/autodiff';
import type { ModelRecipe } from '@lethe/core';
import type { TrainingData } from './data.js';
import type { Trajectory } from './trajectory.js';

/** What a recollection worker thread receives. */
export interface WorkerTask {
  readonly backend: BackendName;
  readonly model: ModelRecipe;
  /** Modules the worker imports first (e.g. ones that register custom models). */
  readonly setupModules: readonly string[];
  readonly data: TrainingData;
  readonly trajectory: Trajectory;
  readonly ids: Int32Array;
  readonly initial?: Float32Array;
  readonly blockSize: number;
}

export type WorkerMessage =
  | { readonly kind: 'progress'; readonly step: number; readonly total: number }
  | { readonly kind: 'done'; readonly vectors: Float32Array }
  | { readonly kind: 'error'; readonly message: string };
