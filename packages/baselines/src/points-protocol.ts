import type { BackendName } from '@lethe/autodiff';
import type { ModelRecipe } from '@lethe/core';
import type { TrainingData } from '@lethe/recollect';

/** What a linearisation worker receives: its share of the samples and the weights. */
export interface PointsTask {
  readonly backend: BackendName;
  readonly model: ModelRecipe;
  readonly data: TrainingData;
  readonly weights: Float32Array;
  readonly ids: Int32Array;
  readonly chunk: number;
}

/** A request to a worker: a product with one block of vectors (workers end by terminate()). */
export interface PointsRequest {
  readonly kind: 'hmp';
  readonly id: number;
  readonly rows: number;
  readonly v: Float32Array;
}

export type PointsReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'hmp'; readonly id: number; readonly out: Float32Array }
  | { readonly kind: 'error'; readonly message: string };
