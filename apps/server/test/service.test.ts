import { weightsSha256 } from '@lethe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_SCHEMA as S } from '../src/migrations.js';
import { DeletionService, recover } from '../src/service.js';
import {
  ADMIN,
  bearer,
  blobsModel,
  expectedWeights,
  openTestService,
  type TestService,
  tokenWith,
} from './helpers.js';

const post = (t: TestService, payload: unknown, token = ADMIN) =>
  t.app.inject({
    method: 'POST',
    url: '/v1/deletions',
    headers: bearer(token),
    payload: payload as object,
  });

async function requestCount(t: TestService): Promise<number> {
  const [row] = await t.service.db.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.requests`);
  return Number(row!.n);
}

describe('deletion service (PGlite, online releases)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await openTestService();
  });
  afterAll(() => t.close());

  it('applies a deletion by sample id and by subject key once, each with a certified release', async () => {
    const a = await post(t, { sampleIds: [3, 5], idempotencyKey: 'a' });
    expect(a.statusCode).toBe(202);
    expect(a.json().state).toBe('accepted');
    const b = await post(t, { subjectKeys: ['blob-7'], idempotencyKey: 'b' });
    expect(b.statusCode).toBe(202);
    await t.service.idle();

    const status = await t.app.inject({
      url: `/v1/deletions/${a.json().id}`,
      headers: bearer(ADMIN),
    });
    expect(status.statusCode).toBe(200);
    const { request, release } = status.json();
    expect(request.state).toBe('done');
    expect(release.id).toBe(request.release);
    expect(release.certificate.format).toBe('lethe-unlearning-certificate');
    expect(release.certificate.epsilon).toBe(1);

    // The store's ledger: two applications, [3, 5] then [7]; the head weights are the original
    // plus exactly these vectors (before noise); the vectors are erased.
    const ledger = await t.service.store.deletions();
    expect(ledger.map((e) => e.ids)).toEqual([[3, 5], [7]]);
    const head = (await t.service.store.headWeights())!;
    const expected = await expectedWeights([[3, 5], [7]]);
    for (let j = 0; j < head.length; j++) expect(head[j]).toBeCloseTo(expected[j]!, 5);
    for (const id of [3, 5, 7]) expect(await t.service.store.has(id)).toBe(false);
    expect(await t.service.store.has(4)).toBe(true);

    // The released weights are the noised ones the latest release certifies, with their digest.
    const w = await t.app.inject({ url: '/v1/weights', headers: bearer(ADMIN) });
    const body = w.json();
    const bytes = Buffer.from(body.weights, 'base64');
    const released = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(body.sha256).toBe(weightsSha256(released));
    const releases = (await t.app.inject({ url: '/v1/releases', headers: bearer(ADMIN) })).json();
    expect(releases).toHaveLength(2);
    expect(releases[0].weightsSha256).toBe(body.sha256);
    expect(body.release).toBe(releases[0].id);
    expect(released).not.toEqual(head);
    const one = await t.app.inject({ url: '/v1/releases?limit=1', headers: bearer(ADMIN) });
    expect(one.json()).toHaveLength(1);
    const byId = await t.app.inject({
      url: `/v1/releases/${releases[1].id}`,
      headers: bearer(ADMIN),
    });
    expect(byId.json().certificate).toEqual(releases[1].certificate);
    const bad = await t.app.inject({ url: '/v1/releases?limit=abc', headers: bearer(ADMIN) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/querystring\/limit must match pattern/);
    const none = await t.app.inject({ url: '/v1/releases/999', headers: bearer(ADMIN) });
    expect(none.statusCode).toBe(404);
  });

  it('answers a repeated idempotency key with the first request and refuses a different body', async () => {
    const first = await post(t, { sampleIds: [11], idempotencyKey: 'same' });
    const again = await post(t, { sampleIds: [11], idempotencyKey: 'same' });
    expect(first.statusCode).toBe(202);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    const other = await post(t, { sampleIds: [12], idempotencyKey: 'same' });
    expect(other.statusCode).toBe(409);
    expect(other.json().message).toMatch(/idempotency key "same" was used for a different request/);
    await t.service.idle();
    const ledger = await t.service.store.deletions();
    expect(ledger.filter((e) => e.ids.includes(11))).toHaveLength(1);
    expect(ledger.some((e) => e.ids.includes(12))).toBe(false);
  });

  it('refuses malformed requests with a 4xx naming the problem, accepting nothing', async () => {
    const before = await requestCount(t);
    const cases: [unknown, number, RegExp][] = [
      [{ sampleIds: [1.5], idempotencyKey: 'x' }, 400, /body\/sampleIds\/0 must be integer/],
      [{ sampleIds: ['7'], idempotencyKey: 'x' }, 400, /body\/sampleIds\/0 must be integer/],
      [{ sampleIds: [-1], idempotencyKey: 'x' }, 400, /body\/sampleIds\/0 must be >= 0/],
      [{ sampleIds: [1] }, 400, /must have required property 'idempotencyKey'/],
      [
        { sampleIds: [1], idempotencyKey: 'x', extra: 1 },
        400,
        /must NOT have additional properties/,
      ],
      [
        { sampleIds: Array.from({ length: 1001 }, (_, i) => i), idempotencyKey: 'x' },
        400,
        /must NOT have more than 1000 items/,
      ],
      [{ sampleIds: [], idempotencyKey: 'x' }, 400, /non-empty list/],
      [
        { sampleIds: [2, 120], idempotencyKey: 'x' },
        422,
        /sample id 120 is out of range.*0\.\.119/,
      ],
      [
        { subjectKeys: ['blob-2', 'nobody'], idempotencyKey: 'x' },
        422,
        /unknown subject key\(s\) "nobody"/,
      ],
    ];
    for (const [payload, status, message] of cases) {
      const res = await post(t, payload);
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(status);
      expect(res.json().message).toMatch(message);
    }
    const broken = await t.app.inject({
      method: 'POST',
      url: '/v1/deletions',
      headers: { ...bearer(ADMIN), 'content-type': 'application/json' },
      payload: '{"sampleIds": [1,',
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().message).toMatch(/JSON/);
    expect(await requestCount(t)).toBe(before);
    expect((await t.service.store.deletions()).some((e) => e.ids.includes(2))).toBe(false);
  });

  it('refuses a body over the size limit', async () => {
    const res = await post(t, {
      subjectKeys: Array.from({ length: 900 }, () => 'k'.repeat(100)),
      idempotencyKey: 'big',
    });
    expect(res.statusCode).toBe(413);
  });

  it('serves the OpenAPI document, health and Prometheus metrics', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/v1/deletions',
      '/v1/deletions/{id}',
      '/v1/weights',
      '/v1/releases',
      '/health',
      '/metrics',
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(
      doc.paths['/v1/deletions'].post.requestBody.content['application/json'].schema.required,
    ).toEqual(['idempotencyKey']);
    const health = (await t.app.inject({ url: '/health' })).json();
    expect(health.status).toBe('ok');
    expect(health.budget.releases).toBeGreaterThanOrEqual(3);
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.headers['content-type']).toMatch(/text\/plain/);
    expect(metrics.body).toMatch(/lethe_requests\{state="done"\} \d+/);
    expect(metrics.body).toMatch(
      /lethe_http_request_duration_seconds_count\{route="\/v1\/deletions",method="POST",status="202"\} \d+/,
    );
  });
});

describe('release policies and the budget', () => {
  it('window: releases once per N requests', async () => {
    const t = await openTestService({ policy: { kind: 'window', requests: 3, seconds: 60 } });
    try {
      for (const id of [1, 2]) await post(t, { sampleIds: [id], idempotencyKey: `w${id}` });
      await new Promise((r) => setTimeout(r, 300));
      expect(await t.service.store.deletions()).toHaveLength(0);
      await post(t, { sampleIds: [3], idempotencyKey: 'w3' });
      await t.service.idle();
      const ledger = await t.service.store.deletions();
      expect(ledger.map((e) => e.ids)).toEqual([[1, 2, 3]]);
      expect(ledger[0]!.release?.mode).toBe('batch');
    } finally {
      await t.close();
    }
  });

  it('shows a request as applying while its application is under way', async () => {
    const t = await openTestService({});
    try {
      // Hold the store's commit: the application is recorded as pending, its request not done.
      const store = t.service.store as unknown as {
        commitDeletion: (commit: unknown) => Promise<unknown>;
      };
      const commit = store.commitDeletion;
      let reached!: () => void;
      const atCommit = new Promise<void>((r) => {
        reached = r;
      });
      let open!: () => void;
      const gate = new Promise<void>((r) => {
        open = r;
      });
      store.commitDeletion = async (c) => {
        reached();
        await gate;
        return commit(c);
      };
      const a = await post(t, { sampleIds: [9], idempotencyKey: 'applying' });
      await atCommit;
      const state = async () =>
        (await t.app.inject({ url: `/v1/deletions/${a.json().id}`, headers: bearer(ADMIN) })).json()
          .request.state;
      expect(await state()).toBe('applying');
      expect((await t.service.counts()).applying).toBe(1);
      open();
      await t.service.idle();
      expect(await state()).toBe('done');
      expect((await t.service.counts()).applying).toBe(0);
    } finally {
      await t.close();
    }
  });

  it('marks a window of more requests than one statement takes done, and finishes one cut short', async () => {
    const t = await openTestService({ policy: { kind: 'window', requests: 40, seconds: 60 } });
    try {
      const ids = Array.from({ length: 40 }, (_, i) => 20 + i);
      await Promise.all(ids.map((id) => post(t, { sampleIds: [id], idempotencyKey: `m${id}` })));
      await t.service.idle();
      const ledger = await t.service.store.deletions();
      expect(ledger.map((e) => [...e.ids].sort((a, b) => a - b))).toEqual([ids]);
      const done = async () =>
        t.service.db.query<{ state: string; application: number | null }>(
          `SELECT state, application FROM ${S}.requests ORDER BY seq`,
        );
      const [app] = await t.service.db.query<{ id: number }>(`SELECT id FROM ${S}.applications`);
      expect((await done()).every((r) => r.state === 'done' && r.application === app!.id)).toBe(
        true,
      );
      // As if the process died after the first statement's rows: the rest are still 'accepted'.
      await t.service.db.query(
        `UPDATE ${S}.requests SET state = 'accepted', done_at = NULL, application = NULL WHERE seq > (SELECT min(seq) + 31 FROM ${S}.requests)`,
      );
      expect((await done()).filter((r) => r.state === 'accepted')).toHaveLength(8);
      await recover(t.service.db, t.service.store);
      expect((await done()).every((r) => r.state === 'done' && r.application === app!.id)).toBe(
        true,
      );
    } finally {
      await t.close();
    }
  });

  it('holds requests when the budget cannot certify the next release, and says retraining is due', async () => {
    const t = await openTestService({ budget: { epsilon: 2, delta: 2e-5 } });
    try {
      const ids: string[] = [];
      for (let i = 1; i <= 6; i++) {
        ids.push((await post(t, { sampleIds: [i], idempotencyKey: `h${i}` })).json().id);
        await t.service.idle();
      }
      const health = (await t.app.inject({ url: '/health' })).json();
      expect(health.status).toBe('held');
      expect(health.budget.retrainDue).toBe(true);
      expect(health.budget.reason).toMatch(/retrain/);
      expect(health.budget.spent.epsilon).toBeLessThanOrEqual(2);
      const applied = (await t.service.store.deletions()).map((e) => e.ids);
      expect(applied.length).toBeGreaterThanOrEqual(1);
      expect(applied.length).toBeLessThan(6);
      expect(health.budget.releases).toBe(applied.length);
      // The first request not applied is held; nothing of it reached the store.
      const held = ids[applied.length]!;
      const status = (
        await t.app.inject({ url: `/v1/deletions/${held}`, headers: bearer(ADMIN) })
      ).json();
      expect(status.request.state).toBe('held');
      expect(await t.service.store.has(applied.length + 1)).toBe(true);
      const page = await t.app.inject({ url: '/' });
      expect(page.body).toMatch(/retraining or repair is due/);
    } finally {
      await t.close();
    }
  });

  it('limits requests per token', async () => {
    const t = await openTestService({}, { rateLimitPerMinute: 3 });
    try {
      const token = await tokenWith(t.app, 'read-weights');
      const codes: number[] = [];
      for (let i = 0; i < 5; i++)
        codes.push(
          (await t.app.inject({ url: '/v1/releases', headers: bearer(token) })).statusCode,
        );
      expect(codes).toEqual([200, 200, 200, 429, 429]);
      // Another token has its own allowance.
      const other = await t.app.inject({ url: '/v1/releases', headers: bearer(ADMIN) });
      expect(other.statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('deletion service options', () => {
  it('refuses a scrub delay that is not a number of seconds in [0, 86400], before opening anything', async () => {
    const model = await blobsModel();
    for (const scrubDelaySeconds of [-1, Number.NaN, 86_401]) {
      await expect(
        DeletionService.open({ model, dataDir: '/nonexistent/lethe', scrubDelaySeconds }),
      ).rejects.toThrow(/scrubDelaySeconds \(--scrub-delay\) must be a number of seconds/);
    }
  });
});
