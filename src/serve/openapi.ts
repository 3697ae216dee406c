import { z } from 'zod';
import { SNAPSHOT_ID_RE } from '../domain/snapshots.js';
import type { Scope } from './scopes.js';
// Importing the schemas registers each one with an id in zod's global registry.
import './schemas.js';
import './snapshot-schemas.js';
import './host-schemas.js';

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (id: string) => ({ content: { 'application/json': { schema: ref(id) } } });
const error = (description: string) => ({ description, ...json('Error') });

const AUTH_ERRORS = {
  '401': error('no or malformed Authorization header (expected: Bearer TOKEN)'),
  '403': error('wrong token, or a token without the scope this needs (error.scope names it)'),
};
/** The bearer token, with the scope the operation needs (docs/api.md#scopes). */
const needs = (scope: Scope) => ({
  security: [{ bearer: [scope] }],
  'x-ferry-scope': scope,
});
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
  const start = (what: string, body: string, scope: Scope) => ({
    summary: `start ${what}`,
    ...needs(scope),
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
    ...needs('read'),
    parameters: [idParam(example)],
    responses: {
      '200': { description: 'its state', ...json(state) },
      ...AUTH_ERRORS,
      '404': error(`no such ${what}`),
    },
  });
  const cancel = (what: string, example: string, scope: Scope) => ({
    summary: `cancel ${what}`,
    description:
      'Before the freeze a migration stops and the workload keeps running on the source; after it, the workload is rolled back to the source.',
    ...needs(scope),
    parameters: [idParam(example)],
    responses: {
      '202': { description: 'cancellation requested; GET it for the outcome' },
      ...AUTH_ERRORS,
      '404': error(`no such ${what}`),
      '409': error(`the ${what} is no longer running`),
    },
  });
  const snapshotId = {
    ...idParam('web-20261201t020000z-1a2b'),
    schema: { type: 'string', pattern: SNAPSHOT_ID_RE.source },
    description: 'snapshot id (NAME-YYYYMMDDtHHMMSSz-XXXX)',
  };
  const query = (name: string, description: string) => ({
    name,
    in: 'query',
    required: false,
    schema: { type: 'string' },
    description,
  });
  // Create, restore, copy and remove run a workflow on the hosts: 202 once started, like a
  // migration; GET /v1/snapshot-operations/{id} has its result.
  const startSnapshot = (summary: string, body?: string, parameters: unknown[] = []) => ({
    summary,
    description:
      'Answers once started; GET the Location (/v1/snapshot-operations/{id}) for result.outcome (refused or failed when the hosts said no or it went wrong).',
    ...needs('snapshot'),
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, ...json(body) } } : {}),
    responses: {
      '202': { description: 'started', ...json('SnapshotStarted') },
      '400': error('invalid input (problems names each field), unknown host; nothing was started'),
      ...AUTH_ERRORS,
      ...(parameters.some((p) => (p as { in?: string }).in === 'path')
        ? { '404': error('not a snapshot id, or no such snapshot in the catalog') }
        : {}),
      '409': error('the same operation runs already (workflowId names it); nothing was started'),
      '503': error("the host's worker is not polling, or Temporal is unreachable; nothing was started"),
    },
  });
  return {
    openapi: '3.1.0',
    info: {
      title: 'ferry',
      version,
      description:
        'Start and follow live migrations, host evacuations, hibernations and snapshots (ferry serve). See docs/api.md; services with a Temporal SDK can start the same workflows directly (docs/workflows.md).',
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
      '/v1/migrations': { post: start('a migration', 'MigrateRequest', 'migrate') },
      '/v1/migrations/{id}': { get: get('a migration', 'MigrationState', 'migrate-runc-node-a-web') },
      '/v1/migrations/{id}/cancel': { post: cancel('migration', 'migrate-runc-node-a-web', 'migrate') },
      '/v1/evacuations': { post: start('an evacuation', 'EvacuateRequest', 'evacuate') },
      '/v1/evacuations/{id}': { get: get('an evacuation', 'EvacuationState', 'evacuate-node-a') },
      '/v1/evacuations/{id}/cancel': { post: cancel('evacuation', 'evacuate-node-a', 'evacuate') },
      '/v1/hibernations': {
        post: start(
          'a hibernation (answers once started; GET it until phase is ready-to-reboot)',
          'HibernateRequest',
          'hibernate',
        ),
      },
      '/v1/hibernations/{id}': { get: get('a hibernation', 'HibernationState', 'hibernate-node-a') },
      '/v1/hibernations/{id}/cancel': { post: cancel('hibernation', 'hibernate-node-a', 'hibernate') },
      '/v1/hosts': {
        get: {
          summary: 'every configured host: is its worker up now, versions, runtimes, free space, cordon',
          description:
            'A worker is up when it polled its task queue in the last 70 s and picked up a probe within 4 s just now (docs/hosts.md); answers in about 4 s when a worker is down.',
          ...needs('read'),
          responses: {
            '200': { description: 'the hosts, in config order', ...json('HostList') },
            ...AUTH_ERRORS,
          },
        },
      },
      '/v1/snapshots': {
        post: startSnapshot("checkpoint a workload into its host's snapshot store", 'SnapshotCreateRequest'),
        get: {
          summary: 'the snapshot catalog, oldest first',
          ...needs('read'),
          parameters: [
            query('workload', "only this workload's"),
            query('host', 'only those with a copy on this host'),
          ],
          responses: {
            '200': { description: 'the snapshots', ...json('SnapshotList') },
            '400': error('a bad workload or host name, or an unknown parameter'),
            ...AUTH_ERRORS,
          },
        },
      },
      '/v1/snapshots/{id}': {
        get: {
          summary: "one snapshot's catalog record",
          ...needs('read'),
          parameters: [snapshotId],
          responses: {
            '200': { description: 'the record', ...json('SnapshotRecord') },
            ...AUTH_ERRORS,
            '404': error('not a snapshot id, or no such snapshot in the catalog'),
          },
        },
        delete: startSnapshot(
          'remove a snapshot (every copy, or only the one on ?host=); refused while another depends on it',
          undefined,
          [snapshotId, query('host', 'only the copy on this host')],
        ),
      },
      '/v1/snapshots/{id}/copy': {
        post: startSnapshot('copy a snapshot to another host', 'SnapshotCopyRequest', [snapshotId]),
      },
      '/v1/snapshots/{id}/restore': {
        post: startSnapshot(
          'bring a workload back from a snapshot (a copy with as, a revert with replace)',
          'SnapshotRestoreRequest',
          [snapshotId],
        ),
      },
      '/v1/snapshot-operations/{id}': {
        get: {
          summary:
            'a started snapshot create, restore, copy or remove: its status, and its result once completed',
          ...needs('read'),
          parameters: [idParam('snapshot-create-web-20261201t020000z-1a2b')],
          responses: {
            '200': { description: 'its state', ...json('SnapshotOperationState') },
            ...AUTH_ERRORS,
            '404': error('no such snapshot operation'),
          },
        },
      },
      '/v1/snapshot-check': {
        get: {
          summary:
            "compare the catalog with every configured host's store (consistent: false when they disagree)",
          ...needs('read'),
          responses: {
            '200': { description: 'the comparison', ...json('CatalogCheck') },
            ...AUTH_ERRORS,
            '503': error('Temporal is unreachable'),
          },
        },
      },
      '/v1/schedules/snapshots': {
        post: {
          summary: 'a Temporal Schedule that snapshots a workload every interval and applies the retention',
          ...needs('snapshot'),
          requestBody: { required: true, ...json('SnapshotScheduleRequest') },
          responses: {
            '201': { description: 'the schedule exists', ...json('ScheduleCreated') },
            '400': error('invalid input (problems names each field); nothing was created'),
            ...AUTH_ERRORS,
            '409': error('a schedule of this workload on this host exists already'),
          },
        },
      },
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
