// /v1/migrations, /v1/evacuations and /v1/hibernations: the same three routes for each kind of
// workflow (start, read, cancel), so that all answer alike.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { FerryClient, StartOptions } from '../../client/ferry-client.js';
import type { Scope } from '../scopes.js';
import { fail, invalid, refused } from '../replies.js';
import { hibernationWorkflowId } from '../../domain/hibernation.js';
import {
  evacuateRequestSchema,
  hibernateRequestSchema,
  migrateRequestSchema,
  workflowIdSchema,
} from '../schemas.js';

/** Where a kind of workflow lives in the API and how its ids look. */
interface WorkflowPaths {
  kind: 'migration' | 'evacuation' | 'hibernation';
  /** What starting or cancelling one needs (reading needs read). */
  scope: Scope;
  path: string;
  prefix: string;
  example: string;
}

/** A kind of workflow the API starts and follows: its paths, request schema, start and read. */
interface WorkflowKind<S extends z.ZodType> extends WorkflowPaths {
  schema: S;
  start: (
    body: z.infer<S>,
    opts: StartOptions,
  ) => Promise<{ workflowId: string; firstExecutionRunId: string }>;
  read: (workflowId: string) => Promise<unknown>;
}

export function migrationRoutes(app: FastifyInstance, client: FerryClient): void {
  workflowRoutes(app, client, {
    kind: 'migration',
    scope: 'migrate',
    path: '/v1/migrations',
    prefix: 'migrate-',
    example: 'migrate-runc-node-a-web',
    schema: migrateRequestSchema,
    start: (body, opts) => client.startMigration(body, opts),
    read: (id) => client.getMigration(id),
  });
}

export function evacuationRoutes(app: FastifyInstance, client: FerryClient): void {
  workflowRoutes(app, client, {
    kind: 'evacuation',
    scope: 'evacuate',
    path: '/v1/evacuations',
    prefix: 'evacuate-',
    example: 'evacuate-node-a',
    schema: evacuateRequestSchema,
    start: (body, opts) => client.startEvacuation(body, opts),
    read: (id) => client.getEvacuation(id),
  });
}

export function hibernationRoutes(app: FastifyInstance, client: FerryClient): void {
  const prefix = hibernationWorkflowId('');
  workflowRoutes(app, client, {
    kind: 'hibernation',
    scope: 'hibernate',
    path: '/v1/hibernations',
    prefix,
    example: hibernationWorkflowId('node-a'),
    schema: hibernateRequestSchema,
    start: (body, opts) => client.startHibernation(body, opts),
    read: (id) => client.getHibernation(id.slice(prefix.length)),
  });
}

function workflowRoutes<S extends z.ZodType>(app: FastifyInstance, client: FerryClient, k: WorkflowKind<S>) {
  startRoute(app, k);
  readRoute(app, k);
  cancelRoute(app, client, k);
}

/** POST a request: validate it, start its workflow, answer 202 with where to follow it. */
function startRoute<S extends z.ZodType>(app: FastifyInstance, k: WorkflowKind<S>): void {
  app.post(k.path, { config: { scope: k.scope } }, async (req, reply) => {
    const parsed = k.schema.safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error, req.body);
    try {
      const handle = await k.start(parsed.data, { startedBy: req.apiToken });
      req.log.info({ workflowId: handle.workflowId, request: parsed.data }, `${k.kind} started`);
      const self = `${k.path}/${encodeURIComponent(handle.workflowId)}`;
      return reply
        .code(202)
        .header('location', self)
        .send({
          workflowId: handle.workflowId,
          runId: handle.firstExecutionRunId,
          status: 'RUNNING',
          links: { self, cancel: `${self}/cancel` },
        });
    } catch (err) {
      return refused(reply, err) ?? Promise.reject(err);
    }
  });
}

function readRoute<S extends z.ZodType>(app: FastifyInstance, k: WorkflowKind<S>): void {
  app.get<{ Params: { id: string } }>(`${k.path}/:id`, async (req, reply) => {
    const id = idOf(k, req.params.id, reply);
    if (!id) return reply;
    try {
      return await k.read(id);
    } catch (err) {
      if (isNotFound(err)) return notFound(reply, k, id);
      throw err;
    }
  });
}

/** Cancels only a running workflow: one that ended has its result to GET instead. */
function cancelRoute<S extends z.ZodType>(
  app: FastifyInstance,
  client: FerryClient,
  k: WorkflowKind<S>,
): void {
  const config = { config: { scope: k.scope } };
  app.post<{ Params: { id: string } }>(`${k.path}/:id/cancel`, config, async (req, reply) => {
    const id = idOf(k, req.params.id, reply);
    if (!id) return reply;
    try {
      const { status } = await client.temporal.workflow.getHandle(id).describe();
      if (status.name !== 'RUNNING')
        return fail(reply, 409, {
          code: 'conflict',
          message: `${k.kind} ${id} is no longer running (${status.name}); GET ${k.path}/${id} for its result`,
          workflowId: id,
        });
      await client.cancel(id);
      req.log.info({ workflowId: id }, `${k.kind} cancel requested`);
      return reply.code(202).send({ workflowId: id, cancelRequested: true });
    } catch (err) {
      if (isNotFound(err)) return notFound(reply, k, id);
      throw err;
    }
  });
}

/** The id from the path, when it names a workflow of this kind; else a 404 was sent. */
function idOf(k: WorkflowPaths, raw: string, reply: FastifyReply): string | undefined {
  if (!workflowIdSchema.safeParse(raw).success || !raw.startsWith(k.prefix)) {
    fail(reply, 404, {
      code: 'not-found',
      message: `"${raw}" is not a ${k.kind} id: they look like ${k.example}`,
    });
    return undefined;
  }
  return raw;
}

const isNotFound = (err: unknown) => (err as Error).name === 'WorkflowNotFoundError';
const notFound = (reply: FastifyReply, k: WorkflowPaths, id: string) =>
  fail(reply, 404, { code: 'not-found', message: `no ${k.kind} ${id}` });
