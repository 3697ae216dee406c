import type { FastifyInstance } from 'fastify';
import type { FerryClient } from '../../client/ferry-client.js';
import { openApiDocument } from '../openapi.js';
import { fail } from '../replies.js';

/** GET /healthz and GET /openapi.json: no token, so that probes and tooling need none. */
export function healthRoutes(app: FastifyInstance, client: FerryClient, version: string): void {
  const openapi = openApiDocument(version);
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
}
