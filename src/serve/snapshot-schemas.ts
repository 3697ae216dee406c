// The snapshot endpoints' schemas (docs/api.md#snapshots): requests the API validates, and the
// answers, described for docs/openapi.json. The same rules as the client's (names, ids,
// durations), so that a request refused here would be refused by ferry snapshot too.
import { z } from 'zod';
import { parseDuration } from '../domain/snapshots.js';
import { intBetween, name, runtime } from './schemas.js';

const note = z
  .string({ error: 'note must be a string' })
  .max(500, { error: 'note must be at most 500 characters' })
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'note must be one line without control characters' })
  .meta({ description: 'kept with the snapshot (one line, at most 500 characters)' });

const criuFlags = {
  tcpEstablished: z
    .boolean()
    .optional()
    .meta({ description: 'CRIU --tcp-established; a restore of the snapshot passes it too' }),
  fileLocks: z.boolean().optional().meta({ description: 'CRIU --file-locks' }),
};

export const snapshotCreateRequestSchema = z
  .strictObject({
    workload: name('workload'),
    runtime,
    host: name('host'),
    stop: z
      .boolean()
      .optional()
      .meta({ description: 'stop the workload after the checkpoint (default: it keeps running)' }),
    ...criuFlags,
    note: note.optional(),
  })
  .meta({ id: 'SnapshotCreateRequest' });

export const snapshotRestoreRequestSchema = z
  .strictObject({
    host: name('host').meta({
      description: 'where it runs from now on (the snapshot is copied there first when needed)',
    }),
    as: name('workload')
      .optional()
      .meta({ description: "start a copy under this name (default: the snapshot's workload name)" }),
    replace: z.boolean().optional().meta({
      description:
        'revert the workload that runs under that name (its current state is kept as a snapshot first)',
    }),
    discardCurrent: z
      .boolean()
      .optional()
      .meta({ description: 'with replace: do not keep its current state' }),
    paused: z.boolean().optional().meta({ description: 'restore it frozen (e.g. to attach a debugger)' }),
  })
  .refine((r) => !r.discardCurrent || r.replace === true, {
    error: 'discardCurrent only goes with replace: true',
    path: ['discardCurrent'],
  })
  .meta({ id: 'SnapshotRestoreRequest' });

export const snapshotCopyRequestSchema = z
  .strictObject({ to: name('host').meta({ description: 'the host to copy it to' }) })
  .meta({ id: 'SnapshotCopyRequest' });

export const snapshotListQuerySchema = z.strictObject({
  workload: name('workload').optional(),
  host: name('host').optional(),
});

export const snapshotRemoveQuerySchema = z.strictObject({ host: name('host').optional() });

const duration = (field: string, example: string, minMs = 1) => {
  const error = `${field} must be a duration such as ${example} (a number and s, m, h or d)${minMs > 1 ? `, at least ${minMs / 1000}s` : ''}`;
  const pattern = /^\d+(s|m|h|d)$/;
  // The refine only judges what the pattern let through, so that each mistake is named once.
  return z
    .string({ error })
    .regex(pattern, { error })
    .refine((v) => !pattern.test(v) || (parseDuration(v) ?? 0) >= minMs, { error })
    .meta({ description: `a number and s, m, h or d, e.g. ${example}` });
};

export const snapshotScheduleRequestSchema = z
  .strictObject({
    workload: name('workload'),
    runtime,
    host: name('host'),
    every: duration('every', '15m', 10_000),
    keep: intBetween(1, 10_000, 'keep').meta({ description: 'how many snapshots of this series to keep' }),
    maxAge: duration('maxAge', '7d').optional().meta({ description: 'also remove those older than this' }),
    tcpEstablished: criuFlags.tcpEstablished,
  })
  .meta({ id: 'SnapshotScheduleRequest' });

export type SnapshotCreateBody = z.infer<typeof snapshotCreateRequestSchema>;
export type SnapshotScheduleBody = z.infer<typeof snapshotScheduleRequestSchema>;

// Answers (documentation only: the server sends what the client returns).

const failure = z.object({ type: z.string(), message: z.string() });

export const snapshotRecordSchema = z
  .object({
    id: z.string(),
    workload: z.string(),
    runtime,
    host: z.string().meta({ description: 'where it was taken' }),
    createdAtMs: z.number(),
    sizeBytes: z.number(),
    checksum: z
      .string()
      .meta({ description: 'sha256 over the manifest of its files, verified before restore' }),
    copies: z.array(z.string()).meta({ description: 'hosts that hold a copy' }),
    parent: z.string().optional(),
    fullBecause: z.string().optional(),
    leftRunning: z.boolean(),
    frozenMs: z.number().optional(),
    criuVersion: z.string().optional(),
    kernel: z.string().optional(),
    imageId: z.string().optional(),
    image: z.string().optional(),
    pid: z.number().optional(),
    criu: z.object({ tcpEstablished: z.boolean().optional(), fileLocks: z.boolean().optional() }).optional(),
    series: z.string().optional(),
    note: z.string().optional(),
  })
  .meta({ id: 'SnapshotRecord' });

export const snapshotListSchema = z.array(snapshotRecordSchema).meta({ id: 'SnapshotList' });

const createResult = z
  .object({
    outcome: z.enum(['created', 'refused', 'failed']),
    id: z.string(),
    snapshot: snapshotRecordSchema.optional(),
    frozenMs: z.number().optional(),
    durationMs: z.number(),
    cause: failure.optional(),
  })
  .meta({ id: 'SnapshotCreateResult' });

const restoreResult = z
  .object({
    outcome: z.enum(['restored', 'refused', 'failed']),
    id: z.string(),
    workload: z.string(),
    runtime: runtime.optional(),
    host: z.string(),
    pid: z.number().optional(),
    paused: z.boolean().optional(),
    resumeCommand: z.string().optional().meta({ description: 'what lets a paused workload go on' }),
    keptSnapshot: z.string().optional().meta({ description: 'with replace: the state it had before' }),
    copiedFrom: z.string().optional(),
    restoreMs: z.number().optional(),
    durationMs: z.number(),
    notes: z.array(z.string()).optional(),
    cause: failure.optional(),
  })
  .meta({ id: 'SnapshotRestoreResult' });

const removeResult = z
  .object({
    outcome: z.enum(['removed', 'refused', 'failed']),
    id: z.string(),
    removedFrom: z.array(z.string()),
    cause: failure.optional(),
  })
  .meta({ id: 'SnapshotRemoveResult' });

const copyResult = z
  .object({
    outcome: z.enum(['copied', 'refused', 'failed']),
    id: z.string(),
    from: z.string().optional().meta({ description: 'absent when it was on the host already' }),
    to: z.string(),
    bytesSent: z.number().optional(),
    durationMs: z.number(),
    cause: failure.optional(),
  })
  .meta({ id: 'SnapshotCopyResult' });

export const snapshotStartedSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    status: z.literal('RUNNING'),
    id: z.string().meta({ description: 'the snapshot it acts on (for create: the one being taken)' }),
    links: z.object({
      self: z.string().meta({ description: 'GET it for the outcome' }),
      snapshot: z.string(),
    }),
  })
  .meta({ id: 'SnapshotStarted' });

export const snapshotOperationStateSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    status: z.string().meta({ description: 'RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT' }),
    startTime: z.string(),
    closeTime: z.string().optional(),
    result: z
      .union([createResult, restoreResult, removeResult, copyResult])
      .optional()
      .meta({ description: 'once COMPLETED: read result.outcome (refused and failed complete too)' }),
    failure: z
      .object({ type: z.string().optional(), message: z.string() })
      .optional()
      .meta({ description: 'when the workflow itself failed' }),
  })
  .meta({ id: 'SnapshotOperationState' });

export const catalogCheckSchema = z
  .object({
    orphansOnDisk: z.array(z.object({ host: z.string(), id: z.string(), sizeBytes: z.number() })),
    missingOnDisk: z.array(z.object({ host: z.string(), id: z.string() })),
    mismatched: z.array(z.object({ host: z.string(), id: z.string() })),
    unreachable: z.array(z.string()).meta({ description: 'hosts whose worker is down (not asked)' }),
    consistent: z.boolean(),
  })
  .meta({ id: 'CatalogCheck' });

export const scheduleCreatedSchema = z.object({ scheduleId: z.string() }).meta({ id: 'ScheduleCreated' });
