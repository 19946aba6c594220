import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The packages whose code decides a block's bytes: a worker with other versions could compute
// rows that differ from the coordinator's by rounding, so it refuses the job instead.
const PACKAGES = ['@lethe/recollect', '@lethe/autodiff', '@tensorflow/tfjs-core'] as const;

function versionOf(name: string): string {
  try {
    const from = require.resolve('@lethe/recollect');
    const pkg = createRequire(from)(`${name}/package.json`) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

let cached: string | undefined;

/** Digest of the computing code: the versions of the engine, the tensors and tfjs. */
export function codeDigest(): string {
  cached ??= createHash('sha256')
    .update(PACKAGES.map((p) => `${p}@${versionOf(p)}`).join('\0'))
    .digest('hex')
    .slice(0, 32);
  return cached;
}
