import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_SCHEMA as S } from '../src/migrations.js';
import { ADMIN, bearer, openTestService, type TestService, tokenWith } from './helpers.js';

describe('auth and membership privacy', () => {
  let t: TestService;
  let submitter: string;
  let other: string;
  beforeAll(async () => {
    t = await openTestService();
    submitter = await tokenWith(t.app, 'submit', 'read-own');
    other = await tokenWith(t.app, 'submit', 'read-own');
  });
  afterAll(() => t.close());

  it('needs a known token with the route scope', async () => {
    const none = await t.app.inject({ url: '/v1/releases' });
    expect(none.statusCode).toBe(401);
    expect(none.json().message).toMatch(/Authorization: Bearer/);
    const wrong = await t.app.inject({ url: '/v1/releases', headers: bearer('lethe_not-a-token') });
    expect(wrong.statusCode).toBe(401);
    const scope = await t.app.inject({ url: '/v1/weights', headers: bearer(submitter) });
    expect(scope.statusCode).toBe(403);
    expect(scope.json().message).toMatch(/read-weights or admin/);
    const token = await t.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: bearer(submitter),
      payload: { name: 'x', scopes: ['admin'] },
    });
    expect(token.statusCode).toBe(403);
    const reader = await tokenWith(t.app, 'read-weights');
    const submit = await t.app.inject({
      method: 'POST',
      url: '/v1/deletions',
      headers: bearer(reader),
      payload: { sampleIds: [1], idempotencyKey: 'r' },
    });
    expect(submit.statusCode).toBe(403);
  });

  it('stores tokens only as their SHA-256', async () => {
    const rows = await t.service.db.query<{ hash: string }>(`SELECT hash FROM ${S}.tokens`);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    const dump = JSON.stringify(rows);
    for (const token of [ADMIN, submitter, other]) expect(dump).not.toContain(token);
    for (const r of rows) expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a caller without admin the same answers for an unknown subject key as for a known one', async () => {
    const submit = (keys: string[], key: string) =>
      t.app.inject({
        method: 'POST',
        url: '/v1/deletions',
        headers: bearer(submitter),
        payload: { subjectKeys: keys, idempotencyKey: key },
      });
    const known = await submit(['blob-40'], 'known');
    const unknown = await submit(['no-such-person'], 'unknown');
    const shape = (r: { statusCode: number; json: () => Record<string, unknown> }) => {
      const { id: _id, acceptedAt: _a, doneAt: _d, ...rest } = r.json();
      return { status: r.statusCode, ...rest, keys: Object.keys(r.json()).sort() };
    };
    expect(shape(unknown)).toEqual(shape(known));
    await t.service.idle();
    const status = async (id: string) =>
      (await t.app.inject({ url: `/v1/deletions/${id}`, headers: bearer(submitter) })).json();
    const a = await status(known.json().id);
    const b = await status(unknown.json().id);
    expect(a.request.state).toBe('done');
    expect(b.request.state).toBe('done');
    expect(Object.keys(b.request).sort()).toEqual(Object.keys(a.request).sort());
    expect(Object.keys(b.release).sort()).toEqual(Object.keys(a.release).sort());
    // Only the known key's sample was forgotten.
    expect(await t.service.store.has(40)).toBe(false);
    expect((await t.service.store.deletions()).flatMap((e) => e.ids)).toEqual([40]);
    // An admin is told.
    const admin = await t.app.inject({
      method: 'POST',
      url: '/v1/deletions',
      headers: bearer(ADMIN),
      payload: { subjectKeys: ['no-such-person'], idempotencyKey: 'admin' },
    });
    expect(admin.statusCode).toBe(422);
  });

  it("answers another caller's request id as it answers an id that does not exist", async () => {
    const mine = await t.app.inject({
      method: 'POST',
      url: '/v1/deletions',
      headers: bearer(submitter),
      payload: { sampleIds: [41], idempotencyKey: 'mine' },
    });
    const theirs = await t.app.inject({
      url: `/v1/deletions/${mine.json().id}`,
      headers: bearer(other),
    });
    const missing = await t.app.inject({
      url: '/v1/deletions/00000000-0000-4000-8000-000000000000',
      headers: bearer(other),
    });
    expect(theirs.statusCode).toBe(404);
    expect(theirs.body).toBe(missing.body);
    const own = await t.app.inject({
      url: `/v1/deletions/${mine.json().id}`,
      headers: bearer(submitter),
    });
    expect(own.statusCode).toBe(200);
    // The same idempotency key of another caller is another request.
    const same = await t.app.inject({
      method: 'POST',
      url: '/v1/deletions',
      headers: bearer(other),
      payload: { sampleIds: [42], idempotencyKey: 'mine' },
    });
    expect(same.statusCode).toBe(202);
    expect(same.json().id).not.toBe(mine.json().id);
  });
});
