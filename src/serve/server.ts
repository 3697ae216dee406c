import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { FerryClient } from '../client/ferry-client.js';
import { checkBearer } from './auth.js';
import { fail, temporalUnreachable } from './replies.js';
import { healthRoutes } from './routes/health.js';
import { hostRoutes } from './routes/hosts.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { evacuationRoutes, hibernationRoutes, migrationRoutes } from './routes/workflows.js';

export interface ServeOptions {
  client: FerryClient;
  token: string;
  version: string;
  /** fastify's logger: JSON lines (pino) by default; false in unit tests. */
  logger?: FastifyServerOptions['logger'];
}

/** The HTTP API (docs/api.md) over a connected FerryClient. */
export function buildServer(opts: ServeOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? { level: 'info' },
    bodyLimit: 64 * 1024,
    // Never log the Authorization header (pino's default request serializer leaves headers out).
  });
  requireToken(app, opts.token);
  answerErrors(app);
  healthRoutes(app, opts.client, opts.version);
  migrationRoutes(app, opts.client);
  evacuationRoutes(app, opts.client);
  hibernationRoutes(app, opts.client);
  snapshotRoutes(app, opts.client);
  hostRoutes(app, opts.client);
  return app;
}

/** Everything under /v1/ needs the bearer token; /healthz and /openapi.json do not. */
function requireToken(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return;
    const auth = checkBearer(req.headers.authorization, token);
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
}

/** Unknown routes, unparsable bodies, an unreachable Temporal and bugs, in the API's error shape. */
function answerErrors(app: FastifyInstance): void {
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
}
