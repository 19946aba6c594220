import { createRequire } from 'node:module';
import { LetheError } from '@lethe/core';
import * as tf from '@tensorflow/tfjs-core';
import { patchWasmKernels } from './wasm-kernels.js';

/** The numerical backends Lethe can run on, best first. */
export type BackendName = 'node' | 'wasm' | 'cpu';
export const BACKEND_PREFERENCE: readonly BackendName[] = ['node', 'wasm', 'cpu'];

export interface BackendInfo {
  readonly name: BackendName;
  /** Why this backend was chosen (preference, override, fallback). */
  readonly reason: string;
  readonly tfjsVersion: string;
  /** Backends that failed to load, with the error, in the order they were tried. */
  readonly unavailable: readonly { name: BackendName; error: string }[];
}

const require = createRequire(import.meta.url);
let active: BackendInfo | undefined;

/** Registers a backend's kernels with tfjs-core; throws when its package cannot load. */
function registerBackend(name: BackendName): void {
  if (name === 'node') {
    // tfjs-node registers itself as 'tensorflow' on import; it is optional and its native
    // binary is often missing, hence require inside try.
    require('@tensorflow/tfjs-node');
  } else if (name === 'wasm') {
    require('@tensorflow/tfjs-backend-wasm');
    // The wasm backend's threads do not start under Node: parallelism comes from worker
    // threads instead, so ask for the single-threaded SIMD binary explicitly.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    patchWasmKernels();
  } else {
    require('@tensorflow/tfjs-backend-cpu');
  }
}

const TFJS_NAME: Record<BackendName, string> = { node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

function parseBackendName(value: string, source: string): BackendName {
  if ((BACKEND_PREFERENCE as readonly string[]).includes(value)) return value as BackendName;
  throw new LetheError(
    'invalid-argument',
    `Unknown backend "${value}" from ${source}: use one of ${BACKEND_PREFERENCE.join(', ')}.`,
  );
}

/**
 * Selects the numerical backend: the explicit argument, else LETHE_BACKEND, else the best one
 * that loads (node, then wasm, then cpu). An explicit choice that cannot load is an error;
 * the automatic choice falls back and records why.
 */
export async function useBackend(requested?: BackendName | string): Promise<BackendInfo> {
  const fromEnv = process.env.LETHE_BACKEND;
  const explicit =
    requested !== undefined
      ? parseBackendName(requested, 'the API call')
      : fromEnv
        ? parseBackendName(fromEnv, 'LETHE_BACKEND')
        : undefined;
  if (active && (explicit === undefined || explicit === active.name)) return active;

  const candidates = explicit ? [explicit] : BACKEND_PREFERENCE;
  const unavailable: { name: BackendName; error: string }[] = [];
  for (const name of candidates) {
    try {
      registerBackend(name);
      const ok = await tf.setBackend(TFJS_NAME[name]);
      if (!ok)
        throw new LetheError('unsupported', `tf.setBackend('${TFJS_NAME[name]}') returned false`);
      await tf.ready();
      const reason = explicit
        ? `requested by ${requested !== undefined ? 'the API call' : 'LETHE_BACKEND'}`
        : unavailable.length === 0
          ? 'best available'
          : `fallback (${unavailable.map((u) => u.name).join(', ')} unavailable)`;
      active = { name, reason, tfjsVersion: tf.version_core, unavailable };
      return active;
    } catch (err) {
      unavailable.push({
        name,
        error: err instanceof Error ? err.message.split('\n')[0]! : String(err),
      });
    }
  }
  const detail = unavailable.map((u) => `${u.name}: ${u.error}`).join('; ');
  throw new LetheError(
    'unsupported',
    explicit
      ? `Backend "${explicit}" could not be loaded (${detail}). Install its package or choose another with LETHE_BACKEND=node|wasm|cpu.`
      : `No tfjs backend could be loaded (${detail}). Run pnpm install.`,
  );
}

/** The backend in use; throws if none was selected yet. */
export function backendInfo(): BackendInfo {
  if (!active)
    throw new LetheError('invalid-argument', 'No backend selected yet: await useBackend() first.');
  return active;
}

/** Backends whose packages load on this machine (for tests that run on every backend). */
export function availableBackends(): BackendName[] {
  const names: BackendName[] = [];
  for (const name of BACKEND_PREFERENCE) {
    try {
      if (name === 'node') require('@tensorflow/tfjs-node');
      else if (name === 'wasm') require.resolve('@tensorflow/tfjs-backend-wasm');
      else require.resolve('@tensorflow/tfjs-backend-cpu');
      names.push(name);
    } catch {
      // not installed or its native part is missing
    }
  }
  return names;
}
