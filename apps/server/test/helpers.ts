// Helpers of the server's tests: one small served model per test file (4 Gaussian blobs, 120
// samples), services on temporary PGlite directories, and the reference the weights must equal.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recollect, storeIdentity } from '@lethe/recollect';
import { createMemoryStore } from '@lethe/store';
import type { FastifyInstance } from 'fastify';
import { type AppOptions, buildApp } from '../src/app.js';
import { loadServedModel, type ServedModel } from '../src/model.js';
import { DeletionService, type ServiceOptions } from '../src/service.js';

export const ADMIN = 'test-admin-token';
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

let served: Promise<ServedModel> | undefined;
export function blobsModel(): Promise<ServedModel> {
  served ??= loadServedModel('blobs-logistic', 'wasm');
  return served;
}

export async function tempDir(prefix = 'lethe-server-test-'): Promise<{
  dir: string;
  remove: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface TestService {
  readonly service: DeletionService;
  readonly app: FastifyInstance;
  readonly dir: string;
  close(): Promise<void>;
}

let template: Promise<string> | undefined;
/**
 * A data directory of a service that has started once (databases created, approximators
 * computed, no request yet): starting PGlite's initdb twice takes seconds, so each test file does
 * it once and every service of the file starts from a copy.
 */
export async function templateDir(): Promise<string> {
  template ??= (async () => {
    const { dir } = await tempDir('lethe-server-template-');
    const service = await DeletionService.open({
      model: await blobsModel(),
      dataDir: dir,
      adminToken: ADMIN,
      log: () => {},
    });
    await service.close();
    return dir;
  })();
  return template;
}

/** A fresh copy of the template data directory. */
export async function freshDataDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const source = await templateDir();
  const made = await tempDir();
  await cp(source, made.dir, { recursive: true });
  return made;
}

export async function openTestService(
  options: Partial<ServiceOptions> = {},
  appOptions: AppOptions = {},
): Promise<TestService> {
  const { dir, remove } = await freshDataDir();
  const service = await DeletionService.open({
    model: await blobsModel(),
    dataDir: dir,
    adminToken: ADMIN,
    erasure: 'vacuum',
    log: () => {},
    ...options,
  });
  const app = await buildApp(service, appOptions);
  return {
    service,
    app,
    dir,
    async close() {
      await app.close();
      await service.close();
      await remove();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A token with `scopes`, made through the admin route. */
export async function tokenWith(app: FastifyInstance, ...scopes: string[]): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/tokens',
    headers: bearer(ADMIN),
    payload: { name: `test ${scopes.join(' ')}`, scopes },
  });
  if (res.statusCode !== 201) throw new Error(`token: ${res.statusCode} ${res.body}`);
  return res.json().token;
}

let vectors: Promise<Float32Array> | undefined;
/** Every sample's approximator of the blobs run, computed here independently of the service. */
export function blobsVectors(): Promise<Float32Array> {
  vectors ??= (async () => {
    const m = await blobsModel();
    const store = createMemoryStore(storeIdentity(m.model, m.trajectory));
    await recollect({ model: m.model, data: m.data, trajectory: m.trajectory, store });
    const ids = Array.from({ length: m.data.n }, (_, i) => i);
    return store.readRows(ids);
  })();
  return vectors;
}

/**
 * The weights after applying `applications` (each a list of sample ids) in order, as the
 * unlearner does: original + sum of the vectors, each application summed in float64.
 */
export async function expectedWeights(
  applications: readonly (readonly number[])[],
): Promise<Float32Array> {
  const m = await blobsModel();
  const rows = await blobsVectors();
  const d = m.model.d;
  const w = Float32Array.from(m.original);
  for (const ids of applications) {
    const sum = new Float64Array(d);
    for (const id of ids) for (let j = 0; j < d; j++) sum[j]! += rows[id * d + j]!;
    const delta = Float32Array.from(sum);
    for (let j = 0; j < d; j++) w[j]! += delta[j]!;
  }
  return w;
}
