// Every experiment of the bench, in the order `pnpm bench --help` lists them.
import type { Experiment } from '../experiment.js';
import { ablate } from './ablate/index.js';
import { certify } from './certify/index.js';
import { compare } from './compare/index.js';
import { kernels } from './kernels/index.js';
import { mia } from './mia/index.js';
import { report } from './report/index.js';
import { scale } from './scale/index.js';
import { serve } from './serve/index.js';
import { verify } from './verify/index.js';

export const EXPERIMENTS: readonly Experiment<never>[] = [
  verify,
  kernels,
  certify,
  compare,
  mia,
  serve,
  scale,
  ablate,
  report,
] as unknown as readonly Experiment<never>[];
