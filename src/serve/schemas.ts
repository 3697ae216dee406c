import { z } from 'zod';
import { checkName, NAME_RE, RUNTIMES } from '../domain/names.js';
import { OUTCOMES } from '../domain/types.js';
import { REQUESTED_MODES } from '../domain/modes.js';
import { SCOPES } from './scopes.js';

// One set of schemas: the HTTP API validates requests with them and docs/openapi.json is
// generated from them (src/serve/openapi.ts), so the two cannot drift apart.

export const name = (kind: 'workload' | 'host') =>
  z
    .string({ error: `${kind} name must be a string` })
    .regex(NAME_RE, { error: (iss) => checkName(kind, iss.input) ?? `bad ${kind} name` })
    .meta({
      description: `${kind} name: 1-63 of a-z 0-9 "-" "_" ".", starting and ending with a letter or digit`,
    });

/** An integer in [min, max]; every way of missing it gets the same message. */
export const intBetween = (min: number, max: number, field: string) => {
  const error = `${field} must be an integer from ${min} to ${max}`;
  return z.int({ error }).min(min, { error }).max(max, { error });
};

export const runtime = z.enum(RUNTIMES, { error: `runtime must be one of ${RUNTIMES.join(', ')}` });

export const migrateRequestSchema = z
  .strictObject({
    workload: name('workload'),
    runtime,
    source: name('host'),
    destination: name('host'),
    verifyWindowMs: intBetween(0, 600_000, 'verifyWindowMs')
      .optional()
      .meta({ description: 'how long the restored workload must keep running (default 2000)' }),
    keepImages: z.boolean().optional().meta({ description: 'keep checkpoint images after success' }),
    allowStartFresh: z
      .boolean()
      .optional()
      .meta({ description: 'last resort after a failed rollback: start fresh on the source (state lost)' }),
    mode: z
      .enum(REQUESTED_MODES, { error: `mode must be one of ${REQUESTED_MODES.join(', ')}` })
      .optional()
      .meta({ description: 'how memory moves (default auto; docs/migration-modes.md)' }),
    acceptPostcopyRisk: z.boolean().optional().meta({
      description: 'required with mode postcopy: a failure once the destination started loses the workload',
    }),
    precopy: z
      .strictObject({
        maxRounds: intBetween(1, 20, 'precopy.maxRounds').optional(),
        fewPages: intBetween(0, 1e9, 'precopy.fewPages').optional(),
        shrinkRatio: z
          .number({ error: 'precopy.shrinkRatio must be a number in (0, 1]' })
          .gt(0, { error: 'precopy.shrinkRatio must be a number in (0, 1]' })
          .max(1, { error: 'precopy.shrinkRatio must be a number in (0, 1]' })
          .optional(),
        downtimeBudgetMs: intBetween(0, 3_600_000, 'precopy.downtimeBudgetMs').optional(),
      })
      .optional()
      .meta({ description: 'tunes the pre-copy rounds when the mode is precopy (docs/precopy.md)' }),
    tcpEstablished: z
      .boolean()
      .optional()
      .meta({ description: 'CRIU --tcp-established (runc, process, podman)' }),
    fileLocks: z.boolean().optional().meta({ description: 'CRIU --file-locks (runc, process, podman)' }),
    adopt: z
      .strictObject({
        pid: intBetween(2, 4_194_304, 'adopt.pid').optional(),
        pidFile: z
          .string({ error: 'adopt.pidFile must be an absolute path on the source host' })
          .startsWith('/', { error: 'adopt.pidFile must be an absolute path on the source host' })
          .max(4096)
          .optional(),
        unit: z
          .string({ error: 'adopt.unit must name a systemd service, e.g. "app.service"' })
          .regex(/^[A-Za-z0-9:_.\\@-]{1,248}\.service$/, {
            error: 'adopt.unit must name a systemd service, e.g. "app.service"',
          })
          .optional(),
      })
      .refine((a) => [a.pid, a.pidFile, a.unit].filter((v) => v !== undefined).length === 1, {
        error: 'adopt needs exactly one of pid, pidFile, unit',
      })
      .optional()
      .meta({
        description:
          'process runtime only: take over a running process tree that ferry did not start (found on the source by pid, pid file or systemd service); it is the workload from then on (docs/runtimes.md)',
      }),
    shipImage: z.boolean().optional().meta({
      description:
        "podman, docker: ship the container's image to a destination that lacks it (default true); false refuses instead",
    }),
    replaceStopped: z.boolean().optional().meta({
      description:
        'podman, docker: remove a stopped container of the same name on the destination instead of refusing (a running one is always refused)',
    }),
  })
  .refine((r) => r.mode !== 'postcopy' || r.acceptPostcopyRisk === true, {
    error:
      'mode postcopy can lose the workload on both hosts if anything fails once the destination has started it: opt in with acceptPostcopyRisk: true',
    path: ['acceptPostcopyRisk'],
  })
  .refine((r) => r.source !== r.destination, {
    error: 'source and destination are the same host: pick a different destination',
    path: ['destination'],
  })
  .meta({ id: 'MigrateRequest' });

const labelKey = /^[A-Za-z0-9_.-]{1,63}$/;
const labelValue = /^[A-Za-z0-9_.:-]{0,63}$/;

/** Which of a host's workloads an evacuation or a hibernation takes (all when absent). */
const workloadSelection = {
  runtimes: z.array(runtime).min(1).optional(),
  namePattern: z
    .string()
    .regex(/^[a-z0-9_.*?-]{1,63}$/, {
      error: 'namePattern is a glob of a-z 0-9 "_.-" and "*" "?", e.g. "web-*"',
    })
    .optional(),
  labels: z
    .record(
      z.string().regex(labelKey, { error: 'label keys are 1-63 of letters, digits, "_.-"' }),
      z.string().regex(labelValue, { error: 'label values are 0-63 of letters, digits, "_.:-"' }),
    )
    .optional()
    .meta({ description: 'only workloads with all these labels' }),
};

export const evacuateRequestSchema = z
  .strictObject({
    host: name('host'),
    candidates: z
      .array(name('host'))
      .min(1)
      .optional()
      .meta({ description: 'destinations (default: every other configured host)' }),
    concurrency: intBetween(1, 32, 'concurrency')
      .optional()
      .meta({ description: 'migrations at once (default 2)' }),
    deadline: z.iso
      .datetime({ offset: true, error: 'deadline must be an ISO date-time, e.g. 2026-12-01T02:00:00Z' })
      .optional()
      .meta({ description: 'start no migration that could not finish before this time' }),
    ...workloadSelection,
    allowStartFresh: z.boolean().optional(),
  })
  .refine((r) => !r.candidates?.includes(r.host), {
    error: 'a host cannot be its own evacuation destination: remove it from candidates',
    path: ['candidates'],
  })
  .meta({ id: 'EvacuateRequest' });

export const hibernateRequestSchema = z
  .strictObject({
    host: name('host'),
    ...workloadSelection,
    deadline: z.iso
      .datetime({ offset: true, error: 'deadline must be an ISO date-time, e.g. 2026-12-01T02:30:00Z' })
      .optional()
      .meta({
        description:
          'when the host should be back; with fallbackHosts, past it the workloads are restored there (else the run is marked overdue and waits on)',
      }),
    fallbackHosts: z
      .array(name('host'))
      .min(1)
      .optional()
      .meta({ description: 'opt-in: copy each snapshot to one of these before the reboot' }),
    concurrency: intBetween(1, 16, 'concurrency')
      .optional()
      .meta({ description: 'checkpoints and restores at once (default 2)' }),
  })
  .refine((r) => !r.fallbackHosts?.includes(r.host), {
    error: 'a host cannot be its own fallback host: remove it from fallbackHosts',
    path: ['fallbackHosts'],
  })
  .meta({ id: 'HibernateRequest' });

/** Workflow ids in paths: migrate-<runtime>-<host>-<workload>, evacuate-<host>, hibernate-<host>. */
export const workflowIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,200}$/, { error: 'not a ferry workflow id' });

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum([
        'unauthorized',
        'forbidden',
        'invalid-input',
        'not-found',
        'method-not-allowed',
        'conflict',
        'no-worker',
        'temporal-unavailable',
        'internal',
      ]),
      message: z.string(),
      problems: z
        .array(z.object({ field: z.string(), message: z.string() }))
        .optional()
        .meta({ description: 'one entry per invalid field (invalid-input)' }),
      workflowId: z.string().optional().meta({ description: 'the running workflow a conflict is with' }),
      scope: z
        .enum(SCOPES)
        .optional()
        .meta({ description: 'the scope the token lacks (forbidden; docs/api.md#scopes)' }),
    }),
  })
  .meta({ id: 'Error' });

export const startedSchema = z
  .object({
    workflowId: z.string(),
    runId: z.string(),
    status: z.literal('RUNNING'),
    links: z.object({ self: z.string(), cancel: z.string() }),
  })
  .meta({ id: 'Started' });

const phaseTiming = z.object({ phase: z.string(), startedAtMs: z.number(), durationMs: z.number() });

const migrationProgress = z
  .object({
    phase: z.string(),
    workload: z.string(),
    runtime,
    source: z.string(),
    destination: z.string(),
    phases: z.array(phaseTiming),
    bytesTransferred: z.number(),
    rollback: z.string().optional(),
  })
  .meta({ id: 'MigrationProgress' });

const migrationResult = z
  .object({
    migrationId: z.string(),
    workload: z.string(),
    runtime,
    source: z.string(),
    destination: z.string(),
    outcome: z.enum(OUTCOMES),
    cause: z.object({ type: z.string(), message: z.string() }).optional(),
    rollback: z.string().optional(),
    downtimeMs: z.number().optional(),
    totalMs: z.number(),
    bytesTransferred: z.number(),
    imageBytes: z.number().optional(),
    phases: z.array(phaseTiming),
    criu: z.object({
      dump: z.record(z.string(), z.number()).optional(),
      restore: z.record(z.string(), z.number()).optional(),
    }),
    criuVersions: z.object({ source: z.string().optional(), destination: z.string().optional() }),
    image: z
      .object({
        image: z.string(),
        imageId: z.string(),
        shipped: z.boolean(),
        createdOnDestination: z.boolean(),
        removedAfterFailure: z.boolean().optional(),
        archiveBytes: z.number().optional(),
        bytesSent: z.number().optional(),
        saveMs: z.number().optional(),
        shipMs: z.number().optional(),
        loadMs: z.number().optional(),
      })
      .optional()
      .meta({ description: "the container's image, when the destination lacked it and ferry shipped it" }),
    freezes: z.number().meta({ description: 'how many times the workload was frozen on the source' }),
    frozenMsTotal: z.number(),
    freezeAttempts: z.array(z.record(z.string(), z.unknown())).optional(),
    freezesUnknown: z.string().optional(),
    criuLogs: z
      .array(z.object({ host: z.string(), path: z.string(), excerpt: z.array(z.string()).optional() }))
      .optional()
      .meta({ description: 'CRIU logs of failed steps, kept on the host that ran them' }),
    notes: z.array(z.string()).optional(),
  })
  .meta({ id: 'MigrationResult' });

const evacuationResult = z
  .object({
    host: z.string(),
    rows: z.array(
      z.object({
        workload: z.string(),
        runtime,
        destination: z.string().optional(),
        outcome: z.string(),
        downtimeMs: z.number().optional(),
        cause: z.string().optional(),
      }),
    ),
    moved: z.number(),
    totalMs: z.number(),
    excludedCandidates: z.array(z.object({ host: z.string(), reason: z.string() })),
  })
  .meta({ id: 'EvacuationResult' });

const runState = <P extends z.ZodType, R extends z.ZodType>(id: string, progress: P, result: R) =>
  z
    .object({
      workflowId: z.string(),
      runId: z.string(),
      status: z.string().meta({
        description: 'RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW',
      }),
      startTime: z.string(),
      closeTime: z.string().optional(),
      progress: progress.optional().meta({ description: 'while RUNNING' }),
      result: result
        .optional()
        .meta({ description: 'once COMPLETED (a rolled-back migration completes too)' }),
      failure: z
        .object({ type: z.string().optional(), message: z.string() })
        .optional()
        .meta({ description: 'when the workflow itself failed, e.g. type InvalidInput' }),
    })
    .meta({ id });

const hibernationResult = z
  .object({
    host: z.string(),
    phase: z.string().meta({
      description:
        'checking, checkpointing, copying, ready-to-reboot, overdue, restoring, restoring-elsewhere, done',
    }),
    outcome: z
      .string()
      .optional()
      .meta({ description: 'once done: resumed, partly-resumed, restored-elsewhere, refused' }),
    cause: z.object({ type: z.string(), message: z.string() }).optional(),
    rows: z.array(
      z.object({
        workload: z.string(),
        runtime,
        state: z.string(),
        snapshotId: z.string().optional(),
        copiedTo: z.string().optional(),
        restoredOn: z.string().optional(),
        running: z.boolean().optional(),
        checkpointMs: z.number().optional(),
        frozenMs: z.number().optional(),
        restoreMs: z.number().optional(),
        criuRestoreMs: z.number().optional(),
        cause: z.string().optional(),
        retryCommand: z.string().optional(),
      }),
    ),
    bootIdBefore: z.string().optional(),
    bootIdAfter: z.string().optional(),
    wasCordoned: z.boolean().optional(),
    startedAtMs: z.number(),
    readyAtMs: z.number().optional(),
    backAtMs: z.number().optional(),
    doneAtMs: z.number().optional(),
    readyMs: z.number().optional(),
    resumeMs: z.number().optional(),
    notes: z.array(z.string()),
  })
  .meta({ id: 'HibernationResult' });

export const migrationStateSchema = runState('MigrationState', migrationProgress, migrationResult);
export const evacuationStateSchema = runState('EvacuationState', evacuationResult, evacuationResult);
export const hibernationStateSchema = runState('HibernationState', hibernationResult, hibernationResult);

export type MigrateBody = z.infer<typeof migrateRequestSchema>;
export type EvacuateBody = z.infer<typeof evacuateRequestSchema>;
export type HibernateBody = z.infer<typeof hibernateRequestSchema>;

/** zod issues as the API's `problems`: the field and a message naming the fix. */
export function describeIssues(error: z.ZodError, body: unknown): { field: string; message: string }[] {
  const valueAt = (p: readonly PropertyKey[]) =>
    p.reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      body,
    );
  return error.issues.map((i) => {
    const field = i.path.map(String).join('.') || '(body)';
    if (i.code === 'unrecognized_keys')
      return { field, message: `unknown field(s) ${i.keys.join(', ')}: see /openapi.json` };
    if (i.code === 'invalid_type' && i.path.length && valueAt(i.path) === undefined)
      return { field, message: `${field} is required` };
    return { field, message: i.message };
  });
}
