// /v1/snapshots, /v1/snapshot-operations, /v1/snapshot-check and /v1/schedules/snapshots
// (docs/api.md#snapshots). Like migrations: what runs a workflow on the hosts (create, restore,
// copy, remove) answers 202 once started, and GET /v1/snapshot-operations/{id} gives its result
// (result.outcome: created/restored/copied/removed, refused or failed); reads answer at once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  MigrationRequestError,
  type FerryClient,
  type SnapshotOperationStart,
  type StartOptions,
} from '../../client/ferry-client.js';
import { SNAPSHOT_OPERATION_PREFIXES } from '../../client/snapshots.js';
import { checkSnapshotId, type SnapshotRecord } from '../../domain/snapshots.js';
import { fail, invalid, refused } from '../replies.js';
import { workflowIdSchema } from '../schemas.js';
import {
  snapshotCopyRequestSchema,
  snapshotCreateRequestSchema,
  snapshotListQuerySchema,
  snapshotRemoveQuerySchema,
  snapshotRestoreRequestSchema,
  snapshotScheduleRequestSchema,
} from '../snapshot-schemas.js';

const SNAPSHOTS = '/v1/snapshots';
const OPERATIONS = '/v1/snapshot-operations';
export const OPERATION_EXAMPLE = 'snapshot-create-web-20261201t020000z-1a2b';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

export function snapshotRoutes(app: FastifyInstance, client: FerryClient): void {
  const scope = { config: { scope: 'snapshot' } } as const;
  app.post(SNAPSHOTS, scope, async (req, reply) => {
    const parsed = snapshotCreateRequestSchema.safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error, req.body);
    const { tcpEstablished, fileLocks, ...rest } = parsed.data;
    const criu =
      tcpEstablished || fileLocks
        ? { criu: { tcpEstablished: !!tcpEstablished, fileLocks: !!fileLocks } }
        : {};
    return start(req, reply, 'snapshot create', () =>
      client.startSnapshotCreate({ ...rest, ...criu }, by(req)),
    );
  });

  app.get(SNAPSHOTS, async (req, reply) => {
    const parsed = snapshotListQuerySchema.safeParse(req.query);
    if (!parsed.success) return invalid(reply, parsed.error, req.query);
    return client.listSnapshots(parsed.data);
  });

  app.get(`${SNAPSHOTS}/:id`, async (req: IdRequest, reply) => {
    return (await existing(client, req.params.id, reply)) ?? reply;
  });

  app.delete(`${SNAPSHOTS}/:id`, scope, async (req: IdRequest, reply) => {
    const parsed = snapshotRemoveQuerySchema.safeParse(req.query);
    if (!parsed.success) return invalid(reply, parsed.error, req.query);
    const id = (await existing(client, req.params.id, reply))?.id;
    if (!id) return reply;
    return start(req, reply, 'snapshot remove', () =>
      client.startSnapshotRemove(id, parsed.data.host, by(req)),
    );
  });

  app.post(`${SNAPSHOTS}/:id/copy`, scope, async (req: IdRequest, reply) => {
    const parsed = snapshotCopyRequestSchema.safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error, req.body);
    const id = (await existing(client, req.params.id, reply))?.id;
    if (!id) return reply;
    return start(req, reply, 'snapshot copy', () => client.startSnapshotCopy(id, parsed.data.to, by(req)));
  });

  app.post(`${SNAPSHOTS}/:id/restore`, scope, async (req: IdRequest, reply) => {
    const parsed = snapshotRestoreRequestSchema.safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error, req.body);
    const id = (await existing(client, req.params.id, reply))?.id;
    if (!id) return reply;
    return start(req, reply, 'snapshot restore', () =>
      client.startSnapshotRestore({ snapshotId: id, ...parsed.data }, by(req)),
    );
  });

  app.get(`${OPERATIONS}/:id`, async (req: IdRequest, reply) => {
    const raw = req.params.id;
    if (
      !workflowIdSchema.safeParse(raw).success ||
      !SNAPSHOT_OPERATION_PREFIXES.some((p) => raw.startsWith(p))
    )
      return fail(reply, 404, {
        code: 'not-found',
        message: `"${raw}" is not a snapshot operation id: they look like ${OPERATION_EXAMPLE} (the workflowId a POST answered with)`,
      });
    try {
      return await client.getSnapshotOperation(raw);
    } catch (err) {
      if ((err as Error).name === 'WorkflowNotFoundError')
        return fail(reply, 404, { code: 'not-found', message: `no snapshot operation ${raw}` });
      throw err;
    }
  });

  app.get('/v1/snapshot-check', async (req, reply) => {
    try {
      return await client.checkSnapshots(undefined, by(req));
    } catch (err) {
      return refused(reply, err) ?? Promise.reject(err);
    }
  });

  app.post('/v1/schedules/snapshots', scope, async (req, reply) => {
    const parsed = snapshotScheduleRequestSchema.safeParse(req.body);
    if (!parsed.success) return invalid(reply, parsed.error, req.body);
    const { tcpEstablished, ...rest } = parsed.data;
    try {
      const scheduleId = await client.scheduleSnapshots(
        { ...rest, ...(tcpEstablished ? { criu: { tcpEstablished: true } } : {}) },
        by(req),
      );
      req.log.info({ scheduleId, request: parsed.data }, 'snapshot schedule created');
      return reply.code(201).send({ scheduleId });
    } catch (err) {
      if ((err as Error).name === 'ScheduleAlreadyRunning') {
        const scheduleId = (err as { scheduleId?: string }).scheduleId ?? '';
        return fail(reply, 409, {
          code: 'conflict',
          message: `a schedule ${scheduleId} exists already: delete it first (ferry schedule delete ${scheduleId}) to change it`,
        });
      }
      return refused(reply, err) ?? Promise.reject(err);
    }
  });
}

/** Who asked: recorded on the workflow (memo ferryApiToken). */
const by = (req: FastifyRequest): StartOptions => ({ startedBy: req.apiToken });

/** Starts an operation; 202 with where to follow it, or the refusal (nothing was started). */
async function start(
  req: FastifyRequest,
  reply: FastifyReply,
  what: string,
  run: () => Promise<SnapshotOperationStart>,
): Promise<FastifyReply> {
  try {
    const { snapshotId, handle } = await run();
    req.log.info({ workflowId: handle.workflowId, snapshotId, request: req.body }, `${what} started`);
    const self = `${OPERATIONS}/${encodeURIComponent(handle.workflowId)}`;
    return reply
      .code(202)
      .header('location', self)
      .send({
        workflowId: handle.workflowId,
        runId: handle.firstExecutionRunId,
        status: 'RUNNING',
        id: snapshotId,
        links: { self, snapshot: `${SNAPSHOTS}/${snapshotId}` },
      });
  } catch (err) {
    return refused(reply, err) ?? Promise.reject(err);
  }
}

/**
 * The catalog's record of the snapshot the path names; else a 404 was sent. (The client refuses
 * an unknown id as invalid input; in a path it is a missing resource.)
 */
async function existing(
  client: FerryClient,
  raw: string,
  reply: FastifyReply,
): Promise<SnapshotRecord | undefined> {
  const bad = checkSnapshotId(raw);
  if (bad) {
    fail(reply, 404, { code: 'not-found', message: bad });
    return undefined;
  }
  try {
    return await client.getSnapshot(raw);
  } catch (err) {
    if (!(err instanceof MigrationRequestError)) throw err;
    fail(reply, 404, {
      code: 'not-found',
      message: `no snapshot ${raw} in the catalog: GET ${SNAPSHOTS} lists them`,
    });
    return undefined;
  }
}
