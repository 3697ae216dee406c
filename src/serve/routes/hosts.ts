import type { FastifyInstance } from 'fastify';
import type { FerryClient } from '../../client/ferry-client.js';

/** GET /v1/hosts: every configured host, whether its worker is up now (ferry hosts --json). */
export function hostRoutes(app: FastifyInstance, client: FerryClient): void {
  app.get('/v1/hosts', async () => client.describeHosts());
}
