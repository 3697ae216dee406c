import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
} from 'fastify';
import type { FerryClient } from '../client/ferry-client.js';
import { bearerSecret } from './auth.js';
import { allowedMethods } from './methods.js';
import { fail, temporalUnreachable } from './replies.js';
import { healthRoutes } from './routes/health.js';
import { hostRoutes } from './routes/hosts.js';
import { snapshotRoutes } from './routes/snapshots.js';
import { evacuationRoutes, hibernationRoutes, migrationRoutes } from './routes/workflows.js';
import { scopeNeeded } from './scopes.js';
import { TokenRegistry } from './token-registry.js';
import { allScopes } from './tokens.js';

export interface ServeOptions {
  client: FerryClient;
  /** The tokens accepted (docs/api.md#tokens); or one secret with every scope, named "env". */
  tokens?: TokenRegistry;
  token?: string;
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
  const tokens = opts.tokens ?? TokenRegistry.of(...(opts.token ? [allScopes('env', opts.token)] : []));
  app.decorateRequest('apiToken', undefined);
  requireToken(app, tokens);
  answerErrors(app, allowedMethods(app));
  healthRoutes(app, opts.client, opts.version);
  migrationRoutes(app, opts.client);
  evacuationRoutes(app, opts.client);
  hibernationRoutes(app, opts.client);
  snapshotRoutes(app, opts.client);
  hostRoutes(app, opts.client);
  return app;
}

/**
 * Everything under /v1/ needs a token with the route's scope; /healthz and /openapi.json do
 * not. The token's name goes on every later log line of the request.
 */
function requireToken(app: FastifyInstance, tokens: TokenRegistry): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!req.url.startsWith('/v1/')) return;
    const auth = bearerSecret(req.headers.authorization);
    if (auth === 'missing')
      return fail(reply, 401, {
        code: 'unauthorized',
        message:
          'missing Authorization header: send "Authorization: Bearer TOKEN" with a token ferry serve accepts',
      });
    if (auth === 'malformed')
      return fail(reply, 401, {
        code: 'unauthorized',
        message: 'malformed Authorization header: expected "Bearer TOKEN"',
      });
    const token = tokens.find(auth.secret);
    if (!token)
      return fail(reply, 403, {
        code: 'forbidden',
        message:
          'wrong token: use one of the --tokens-file (or --token-file, $FERRY_API_TOKEN) of ferry serve',
      });
    req.apiToken = token.name;
    req.log = reply.log = req.log.child({ apiToken: token.name });
    if (req.is404) return; // 404 or 405 below: no route, so no scope to check
    const scope = scopeNeeded(req.method, req.routeOptions.config.scope);
    if (!scope || !token.scopes.includes(scope))
      return fail(reply, 403, {
        code: 'forbidden',
        message: `token "${token.name}" lacks the scope ${scope ?? '(none declared)'} that ${req.method} ${req.routeOptions.url} needs (docs/api.md#scopes)`,
        ...(scope ? { scope } : {}),
      });
  });
}

/** Unknown routes, unparsable bodies, an unreachable Temporal and bugs, in the API's error shape. */
function answerErrors(app: FastifyInstance, allowed: (path: string) => string[]): void {
  const noRoute = (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0]!;
    const methods = allowed(path);
    if (methods.length)
      return fail(reply.header('allow', methods.join(', ')), 405, {
        code: 'method-not-allowed',
        message: `${path} does not answer ${req.method}, only ${methods.join(', ')}; see GET /openapi.json`,
      });
    return fail(reply, 404, {
      code: 'not-found',
      message: `no route ${req.method} ${path}; see GET /openapi.json`,
    });
  };
  app.setNotFoundHandler(noRoute);

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    // A body fastify cannot take (QUERY without Content-Type) on a path with no such route.
    if (req.is404) return noRoute(req, reply);
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
