// The HTTP face of the service: Fastify with a JSON schema on every route (the OpenAPI document
// at /openapi.json is generated from them), bearer-token auth with scopes, a body size limit and
// a per-token rate limit.
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { isLetheError } from '@lethe/core';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  addToken,
  authenticate,
  type Caller,
  hashToken,
  newToken,
  SCOPES,
  type Scope,
} from './auth.js';
import { createMetrics } from './metrics.js';
import type { DeletionService } from './service.js';
import { renderStatusPage } from './status-page.js';

export interface AppOptions {
  /** Requests per minute per token (or per address without one). Default 1200. */
  readonly rateLimitPerMinute?: number;
  /** Largest request body in bytes. Default 64 KiB. */
  readonly bodyLimit?: number;
  readonly logger?: boolean;
  /** Called with each response's route, method, status and time in the server (ms). */
  readonly onTiming?: (route: string, method: string, status: number, ms: number) => void;
}

/** Most ids or keys one request may name. */
export const MAX_IDS = 1000;

const errorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
} as const;

const requestSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    state: { type: 'string', enum: ['accepted', 'applying', 'done', 'held'] },
    acceptedAt: { type: 'string' },
    doneAt: { type: ['string', 'null'] },
    release: { type: ['integer', 'null'] },
  },
  required: ['id', 'state', 'acceptedAt', 'doneAt', 'release'],
} as const;

const releaseSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    ledgerRequest: { type: 'integer' },
    requests: { type: 'integer' },
    samples: { type: 'integer' },
    weightsSha256: { type: 'string' },
    epsilon: { type: 'number' },
    delta: { type: 'number' },
    sigma: { type: 'number' },
    committedAt: { type: 'string' },
    certificate: { type: 'object', additionalProperties: true },
  },
} as const;

const budgetSchema = {
  type: 'object',
  properties: {
    limit: { type: 'object', additionalProperties: true },
    spent: { type: 'object', additionalProperties: true },
    releases: { type: 'integer' },
    retrainDue: { type: 'boolean' },
    reason: { type: ['string', 'null'] },
  },
} as const;

const auth = { security: [{ bearer: [] }] };

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const LETHE_STATUS: Record<string, number> = {
  'invalid-argument': 400,
  'unknown-id': 422,
  'duplicate-request': 409,
  'budget-exceeded': 503,
};

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

export async function buildApp(
  service: DeletionService,
  options: AppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  const metrics = createMetrics(service);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Lethe deletion service',
        version: '0.1.0',
        description:
          'Deletion requests for a model in service, applied once by certified unlearning, each release noised and certified.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
    },
  });
  await app.register(rateLimit, {
    max: options.rateLimitPerMinute ?? 1200,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const header = req.headers.authorization;
      return header === undefined ? `ip:${req.ip}` : `token:${hashToken(header)}`;
    },
  });

  app.setErrorHandler(
    (error: Error & { validation?: unknown; statusCode?: number; code?: string }, _req, reply) => {
      if (error instanceof HttpError) {
        return reply.code(error.status).send({ error: error.code, message: error.message });
      }
      if (error.validation !== undefined) {
        return reply
          .code(400)
          .send({ error: 'invalid-request', message: `${error.message}; nothing was accepted.` });
      }
      if (isLetheError(error)) {
        const status = LETHE_STATUS[error.code] ?? 500;
        return reply.code(status).send({ error: error.code, message: error.message });
      }
      if (error.statusCode !== undefined && error.statusCode < 500) {
        return reply
          .code(error.statusCode)
          .send({ error: error.code ?? 'bad-request', message: error.message });
      }
      app.log.error(error);
      return reply
        .code(500)
        .send({ error: 'internal', message: 'internal error; see the server log' });
    },
  );

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.observe(route, req.method, reply.statusCode, reply.elapsedTime);
    options.onTiming?.(route, req.method, reply.statusCode, reply.elapsedTime);
  });

  /** A preHandler that demands a token with one of `scopes`. */
  const need =
    (...scopes: Scope[]) =>
    async (req: FastifyRequest, _reply: FastifyReply) => {
      const header = req.headers.authorization;
      const match = header === undefined ? null : /^Bearer (\S+)$/.exec(header);
      if (match === null) {
        throw new HttpError(401, 'unauthorized', 'send Authorization: Bearer <token>.');
      }
      const caller = await authenticate(service.db, match[1]!);
      if (caller === undefined) {
        throw new HttpError(401, 'unauthorized', 'the bearer token is unknown or revoked.');
      }
      if (!scopes.some((s) => caller.scopes.has(s))) {
        throw new HttpError(403, 'forbidden', `this route needs the scope ${scopes.join(' or ')}.`);
      }
      req.caller = caller;
    };

  app.get('/', { schema: { hide: true } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(await renderStatusPage(service)),
  );

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness, and whether requests are held for a retrain',
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ok', 'held'] },
              model: { type: 'string' },
              budget: budgetSchema,
              lastError: { type: ['string', 'null'] },
            },
          },
        },
      },
    },
    async () => ({
      status: service.held === undefined ? 'ok' : 'held',
      model: service.served.name,
      budget: service.budgetState(),
      lastError: service.lastError ?? null,
    }),
  );

  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text format)' } },
    async (_req, reply) => reply.type(metrics.contentType).send(await metrics.render()),
  );

  app.post<{ Body: { sampleIds?: number[]; subjectKeys?: string[]; idempotencyKey: string } }>(
    '/v1/deletions',
    {
      preHandler: need('submit'),
      schema: {
        summary: 'Ask for samples to be forgotten (by sample id or data-subject key)',
        ...auth,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['idempotencyKey'],
          properties: {
            idempotencyKey: { type: 'string', minLength: 1, maxLength: 200 },
            sampleIds: {
              type: 'array',
              maxItems: MAX_IDS,
              items: { type: 'integer', minimum: 0, maximum: 2147483647 },
            },
            subjectKeys: {
              type: 'array',
              maxItems: MAX_IDS,
              items: { type: 'string', minLength: 1, maxLength: 200 },
            },
          },
        },
        response: { 200: requestSchema, 202: requestSchema, '4xx': errorSchema },
      },
    },
    async (req, reply) => {
      const { sampleIds, subjectKeys, idempotencyKey } = req.body;
      if ((sampleIds?.length ?? 0) + (subjectKeys?.length ?? 0) === 0) {
        throw new HttpError(
          400,
          'invalid-request',
          'name at least one sample: body/sampleIds or body/subjectKeys must be a non-empty list; nothing was accepted.',
        );
      }
      const { request, replayed } = await service.submit(req.caller!, {
        ...(sampleIds === undefined ? {} : { sampleIds }),
        ...(subjectKeys === undefined ? {} : { subjectKeys }),
        idempotencyKey,
      });
      return reply.code(replayed ? 200 : 202).send(request);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/deletions/:id',
    {
      preHandler: need('read-own', 'admin'),
      schema: {
        summary:
          "A request's state, and once done, the release (with its certificate) that published it",
        ...auth,
        params: {
          type: 'object',
          properties: { id: { type: 'string', maxLength: 100 } },
          required: ['id'],
        },
        response: {
          200: {
            type: 'object',
            properties: {
              request: requestSchema,
              release: { ...releaseSchema, type: ['object', 'null'] },
            },
          },
          '4xx': errorSchema,
        },
      },
    },
    async (req) => {
      const request = await service.request(req.caller!, req.params.id);
      if (request === undefined) {
        // The same answer for a request that does not exist and for another caller's.
        throw new HttpError(404, 'not-found', 'no request with this id among yours.');
      }
      const release =
        request.release === null ? null : ((await service.release(request.release)) ?? null);
      return { request, release };
    },
  );

  app.get(
    '/v1/weights',
    {
      preHandler: need('read-weights', 'admin'),
      schema: {
        summary: 'The latest released (noised, certified) weights: float32 little-endian, base64',
        ...auth,
        response: {
          200: {
            type: 'object',
            properties: {
              release: { type: ['integer', 'null'] },
              d: { type: 'integer' },
              sha256: { type: 'string' },
              weights: { type: 'string' },
            },
          },
          '4xx': errorSchema,
        },
      },
    },
    async () => {
      const { weights, sha256, release } = await service.weights();
      return {
        release,
        d: weights.length,
        sha256,
        weights: Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength).toString(
          'base64',
        ),
      };
    },
  );

  // Query strings and path parameters are strings on the wire (types are not coerced, so that a
  // body's "7" is refused as a sample id); numbers in them are checked by pattern.
  app.get<{ Querystring: { limit?: string } }>(
    '/v1/releases',
    {
      preHandler: need('read-weights', 'admin'),
      schema: {
        summary: 'The latest releases with their certificates, newest first',
        ...auth,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'string', pattern: '^(200|1[0-9]{2}|[1-9][0-9]?)$' } },
        },
        response: { 200: { type: 'array', items: releaseSchema }, '4xx': errorSchema },
      },
    },
    async (req) => service.releases(Number(req.query.limit ?? 20)),
  );

  app.get<{ Params: { id: string } }>(
    '/v1/releases/:id',
    {
      preHandler: need('read-weights', 'admin'),
      schema: {
        summary: 'One release and its certificate',
        ...auth,
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,8}$' } },
          required: ['id'],
        },
        response: { 200: releaseSchema, '4xx': errorSchema },
      },
    },
    async (req) => {
      const release = await service.release(Number(req.params.id));
      if (release === undefined)
        throw new HttpError(404, 'not-found', `no release ${req.params.id}.`);
      return release;
    },
  );

  app.post<{ Body: { name: string; scopes: Scope[] } }>(
    '/v1/tokens',
    {
      preHandler: need('admin'),
      schema: {
        summary: 'Create a bearer token (shown once; only its SHA-256 is stored)',
        ...auth,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'scopes'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            scopes: {
              type: 'array',
              minItems: 1,
              maxItems: 4,
              items: { type: 'string', enum: [...SCOPES] },
            },
          },
        },
        response: {
          201: {
            type: 'object',
            properties: {
              id: { type: 'integer' },
              token: { type: 'string' },
              scopes: { type: 'array', items: { type: 'string' } },
            },
          },
          '4xx': errorSchema,
        },
      },
    },
    async (req, reply) => {
      const token = newToken();
      const scopes = [...new Set(req.body.scopes)];
      const id = await addToken(service.db, token, req.body.name, scopes);
      return reply.code(201).send({ id, token, scopes });
    },
  );

  return app;
}
