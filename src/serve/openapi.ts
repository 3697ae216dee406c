import { z } from 'zod';
// Importing the schemas registers each one with an id in zod's global registry.
import './schemas.js';

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ content: { 'application/json': { schema: ref(id) } } });
const error = (description: string) => ({ description, ...json('Error') });

const AUTH_ERRORS = {
  '401': error('no or malformed Authorization header (expected: Bearer TOKEN)'),
  '403': error('wrong token'),
};
const idParam = (example: string) => ({
  name: 'id',
  in: 'path',
  required: true,
  schema: { type: 'string' },
  example,
});

/** The OpenAPI 3.1 description of `ferry serve`, generated from the schemas it validates with. */
export function openApiDocument(version: string): Record<string, unknown> {
  // Every schema with a .meta({ id }) is a component; references between them stay $refs.
  const { schemas: all } = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
  });
  const schemas = Object.fromEntries(Object.entries(all).map(([id, s]) => [id, stripMeta(s)]));
  const start = (what: string, body: string) => ({
    summary: `start ${what}`,
    security: [{ bearer: [] }],
    requestBody: { required: true, ...json(body) },
    responses: {
      '202': { description: `${what} started`, ...json('Started') },
      '400': error('invalid input (problems names each field); nothing was started'),
      ...AUTH_ERRORS,
      '409': error('one is already running for this workload or host (workflowId names it)'),
      '503': error("a host's worker is not polling, or Temporal is unreachable; nothing was started"),
    },
  });
  const get = (what: string, state: string, example: string) => ({
    summary: `progress (while running) and result (once completed) of ${what}`,
    security: [{ bearer: [] }],
    parameters: [idParam(example)],
    responses: {
      '200': { description: 'its state', ...json(state) },
      ...AUTH_ERRORS,
      '404': error(`no such ${what}`),
    },
  });
  const cancel = (what: string, example: string) => ({
    summary: `cancel ${what}`,
    description:
      'Before the freeze a migration stops and the workload keeps running on the source; after it, the workload is rolled back to the source.',
    security: [{ bearer: [] }],
    parameters: [idParam(example)],
    responses: {
      '202': { description: 'cancellation requested; GET it for the outcome' },
      ...AUTH_ERRORS,
      '404': error(`no such ${what}`),
      '409': error(`the ${what} is no longer running`),
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'ferry',
      version,
      description:
        'Start and follow live migrations and host evacuations (ferry serve). See docs/api.md; services with a Temporal SDK can start the same workflows directly (docs/workflows.md).',
    },
    servers: [{ url: 'http://127.0.0.1:8470' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas,
    },
    paths: {
      '/healthz': {
        get: {
          summary: 'liveness: the server runs and reaches Temporal (no token needed)',
          responses: {
            '200': { description: 'ok' },
            '503': error('Temporal is unreachable'),
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'this document', responses: { '200': { description: 'OpenAPI 3.1' } } },
      },
      '/v1/migrations': { post: start('a migration', 'MigrateRequest') },
      '/v1/migrations/{id}': { get: get('a migration', 'MigrationState', 'migrate-runc-node-a-web') },
      '/v1/migrations/{id}/cancel': { post: cancel('migration', 'migrate-runc-node-a-web') },
      '/v1/evacuations': { post: start('an evacuation', 'EvacuateRequest') },
      '/v1/evacuations/{id}': { get: get('an evacuation', 'EvacuationState', 'evacuate-node-a') },
      '/v1/evacuations/{id}/cancel': { post: cancel('evacuation', 'evacuate-node-a') },
    },
  };
}

/** Drops the JSON Schema dialect markers that OpenAPI component schemas do not carry. */
function stripMeta(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object') return schema;
  const rest = { ...(schema as Record<string, unknown>) };
  delete rest.$schema;
  delete rest.$id;
  return rest;
}
