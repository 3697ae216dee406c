import Fastify, { type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify';
import type { z } from 'zod';
import { FerryClient, MigrationRequestError } from '../client/ferry-client.js';
import { checkBearer } from './auth.js';
import { openApiDocument } from './openapi.js';
import {
  describeIssues,
  errorSchema,
  evacuateRequestSchema,
  migrateRequestSchema,
  workflowIdSchema,
} from './schemas.js';

type ErrorBody = z.infer<typeof errorSchema>['error'];

export interface ServeOptions {
  client: FerryClient;
  token: string;
  version: string;
  /** fastify's logger: JSON lines (pino) by default; false in unit tests. */
  logger?: FastifyServerOptions['logger'];
}

function fail(reply: FastifyReply, status: number, body: ErrorBody): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="ferry"');
  return reply.code(status).send({ error: body });
}

/** gRPC UNAVAILABLE / DEADLINE_EXCEEDED from the Temporal connection. */
function temporalUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 14 || code === 4 || (err as Error).name === 'TransportError';
}

const KINDS = {
  migration: { prefix: 'migrate-', path: '/v1/migrations', example: 'migrate-runc-node-a-web' },
  evacuation: { prefix: 'evacuate-', path: '/v1/evacuations', example: 'evacuate-node-a' },
} as const;
type Kind = keyof typeof KINDS;

/** The HTTP API (docs/api.md) over a connected FerryClient. */
export function buildServer(opts: ServeOptions): FastifyInstance {
  const { client } = opts;
  const app = Fastify({
    logger: opts.logger ?? { level: 'info' },
    bodyLimit: 64 * 1024,
    // Never log the Authorization header (pino's default request serializer leaves headers out).
  });
  const openapi = openApiDocument(opts.version);

  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return;
    const auth = checkBearer(req.headers.authorization, opts.token);
    if (auth === 'missing')
      return fail(reply, 401, {
        code: 'unauthorized',
        message:
          'missing Authorization header: send "Authorization: Bearer TOKEN" with the token ferry serve was started with',
      });
    if (auth === 'malformed')
      return fail(reply, 401, {
        code: 'unauthorized',
        message: 'malformed Authorization header: expected "Bearer TOKEN"',
      });
    if (auth === 'wrong')
      return fail(reply, 403, {
        code: 'forbidden',
        message: 'wrong token: use the one in the --token-file (or $FERRY_API_TOKEN) of ferry serve',
      });
  });

  app.setNotFoundHandler((req, reply) =>
    fail(reply, 404, {
      code: 'not-found',
      message: `no route ${req.method} ${req.url.split('?')[0]}; see GET /openapi.json`,
    }),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return fail(reply, err.statusCode, {
        code: 'invalid-input',
        message:
          err.statusCode === 415
            ? 'send the body as JSON with "Content-Type: application/json"'
            : `the request body is not valid JSON: ${err.message}`,
      });
    if (temporalUnreachable(err)) {
      req.log.warn({ err }, 'Temporal is unreachable');
      return fail(reply, 503, {
        code: 'temporal-unavailable',
        message: `Temporal is unreachable: ${err.message}. Retry later; check the temporal: section of the config`,
      });
    }
    req.log.error({ err }, 'request failed');
    return fail(reply, 500, { code: 'internal', message: `internal error: ${err.message}` });
  });

  app.get('/healthz', async (_req, reply) => {
    try {
      await client.temporal.workflowService.getSystemInfo({});
      return { status: 'ok' };
    } catch (err) {
      return fail(reply, 503, {
        code: 'temporal-unavailable',
        message: `Temporal is unreachable: ${(err as Error).message}`,
      });
    }
  });
  app.get('/openapi.json', async () => openapi);

  /** Request problems before anything started: 400, 409 or 503 with what to do. */
  function refused(reply: FastifyReply, err: unknown): FastifyReply | undefined {
    if (!(err instanceof MigrationRequestError)) return undefined;
    const status = { invalid: 400, conflict: 409, 'no-worker': 503 }[err.problem];
    const code = ({ invalid: 'invalid-input', conflict: 'conflict', 'no-worker': 'no-worker' } as const)[
      err.problem
    ];
    return fail(reply, status, {
      code,
      message: err.message,
      ...(err.workflowId ? { workflowId: err.workflowId } : {}),
    });
  }

  function invalid(reply: FastifyReply, error: z.ZodError, body: unknown): FastifyReply {
    const problems = describeIssues(error, body);
    return fail(reply, 400, {
      code: 'invalid-input',
      message: `invalid request, nothing was started: ${problems.map((p) => p.message.replace(/\.$/, '')).join('; ')}`,
      problems,
    });
  }

  function started(reply: FastifyReply, kind: Kind, workflowId: string, runId: string) {
    const self = `${KINDS[kind].path}/${encodeURIComponent(workflowId)}`;
    return reply
      .code(202)
      .header('location', self)
      .send({ workflowId, runId, status: 'RUNNING', links: { self, cancel: `${self}/cancel` } });
  }

  /** The id from the path, when it names a workflow of this kind; else a 404 was sent. */
  function idOf(kind: Kind, raw: string, reply: FastifyReply): string | undefined {
    const { prefix, example } = KINDS[kind];
    if (!workflowIdSchema.safeParse(raw).success || !raw.startsWith(prefix)) {
      fail(reply, 404, {
        code: 'not-found',
        message: `"${raw}" is not a ${kind} id: they look like ${example}`,
      });
      return undefined;
    }
    return raw;
  }

  const notFound = (reply: FastifyReply, kind: Kind, id: string) =>
    fail(reply, 404, { code: 'not-found', message: `no ${kind} ${id}` });
  const isNotFound = (err: unknown) => (err as Error).name === 'WorkflowNotFoundError';

  /** POST a request: validate it, start its workflow, answer 202 with where to follow it. */
  function startRoute<S extends z.ZodType>(
    kind: Kind,
    schema: S,
    start: (body: z.infer<S>) => Promise<{ workflowId: string; firstExecutionRunId: string }>,
  ): void {
    app.post(KINDS[kind].path, async (req, reply) => {
      const parsed = schema.safeParse(req.body);
      if (!parsed.success) return invalid(reply, parsed.error, req.body);
      try {
        const handle = await start(parsed.data);
        req.log.info({ workflowId: handle.workflowId, request: parsed.data }, `${kind} started`);
        return started(reply, kind, handle.workflowId, handle.firstExecutionRunId);
      } catch (err) {
        return refused(reply, err) ?? Promise.reject(err);
      }
    });
  }
  startRoute('migration', migrateRequestSchema, (body) => client.startMigration(body));
  startRoute('evacuation', evacuateRequestSchema, (body) => client.startEvacuation(body));

  for (const kind of Object.keys(KINDS) as Kind[]) {
    const base = KINDS[kind].path;
    app.get<{ Params: { id: string } }>(`${base}/:id`, async (req, reply) => {
      const id = idOf(kind, req.params.id, reply);
      if (!id) return reply;
      try {
        return kind === 'migration' ? await client.getMigration(id) : await client.getEvacuation(id);
      } catch (err) {
        if (isNotFound(err)) return notFound(reply, kind, id);
        throw err;
      }
    });
    app.post<{ Params: { id: string } }>(`${base}/:id/cancel`, async (req, reply) => {
      const id = idOf(kind, req.params.id, reply);
      if (!id) return reply;
      try {
        const handle = client.temporal.workflow.getHandle(id);
        const { status } = await handle.describe();
        if (status.name !== 'RUNNING')
          return fail(reply, 409, {
            code: 'conflict',
            message: `${kind} ${id} is no longer running (${status.name}); GET ${base}/${id} for its result`,
            workflowId: id,
          });
        await client.cancel(id);
        req.log.info({ workflowId: id }, `${kind} cancel requested`);
        return reply.code(202).send({ workflowId: id, cancelRequested: true });
      } catch (err) {
        if (isNotFound(err)) return notFound(reply, kind, id);
        throw err;
      }
    });
  }
  return app;
}
