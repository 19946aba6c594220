import { createHash } from 'node:crypto';

/** One named parameter tensor inside a model's flat parameter vector. */
export interface ParamSegment {
  readonly name: string;
  /** Shape of the tensor; its elements are stored row-major from `offset`. */
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

/** The flat float32 layout of a model's parameters: segments back to back, in order. */
export interface ParamLayout {
  readonly segments: readonly ParamSegment[];
  readonly size: number;
}

export function buildLayout(
  parts: readonly { name: string; shape: readonly number[] }[],
): ParamLayout {
  let offset = 0;
  const segments = parts.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const segment = { name, shape: [...shape], offset, size };
    offset += size;
    return segment;
  });
  return { segments, size: offset };
}

/** A digest of the layout (names, shapes, order): stores and trajectories record it. */
export function layoutDigest(modelName: string, layout: ParamLayout): string {
  const text = JSON.stringify({
    model: modelName,
    segments: layout.segments.map((s) => [s.name, s.shape]),
  });
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}
