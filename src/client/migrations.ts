// Migrations through the typed client: check, start, follow (progress, live bytes, result),
// cancel and resolve. FerryClient (ferry-client.ts) exposes these as its methods.
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { validateMigrateRequest } from '../domain/validation.js';
import { capabilitiesOf } from '../runtimes/capabilities.js';
import { migrationWorkflowId } from '../domain/names.js';
import { DEFAULT_VERIFY_WINDOW_MS } from '../domain/types.js';
import type {
  LiveTransfer,
  MigrateRequest,
  MigrationProgress,
  MigrationResult,
  ResolveSignal,
} from '../domain/types.js';
import { progressQuery, resolveSignal } from '../workflows/definitions.js';
import { SA } from '../workflows/search-attributes.js';
import type { migrate } from '../workflows/migrate/migrate.js';
import { MigrationRequestError } from './errors.js';
import { requireWorkers } from './hosts.js';
import {
  resultWithProgress,
  runState,
  startExclusive,
  type ClientContext,
  type RunState,
  type StartOptions,
} from './runs.js';

export async function checkRequest(ctx: ClientContext, req: MigrateRequest): Promise<void> {
  const problems = validateMigrateRequest(req, capabilitiesOf);
  if (problems.length) throw new MigrationRequestError(problems.join('\n'));
  const known = ctx.knownHosts;
  const needed = [
    { role: 'source', host: req.source },
    { role: 'destination', host: req.destination },
  ];
  for (const { role, host } of needed)
    if (known && !known.includes(host))
      throw new MigrationRequestError(
        `unknown ${role} host "${host}": the configuration has ${known.join(', ')}`,
      );
  await requireWorkers(ctx, needed);
}

export async function startMigration(
  ctx: ClientContext,
  req: MigrateRequest,
  opts?: StartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof migrate>> {
  await checkRequest(ctx, req);
  const workflowId = migrationWorkflowId(req.runtime, req.source, req.workload);
  return startExclusive<typeof migrate>(
    ctx,
    'migrate',
    {
      workflowId,
      args: [req],
      staticSummary: `migrate ${req.runtime}/${req.workload}: ${req.source} → ${req.destination}`,
      staticDetails: [
        `Live migration of **${req.runtime}/${req.workload}** from **${req.source}** to **${req.destination}** with CRIU.`,
        `Verify window ${req.verifyWindowMs ?? DEFAULT_VERIFY_WINDOW_MS} ms · keep images ${req.keepImages ? 'yes' : 'no'} · fresh start as last resort ${req.allowStartFresh ? 'ALLOWED' : 'no'}.`,
      ].join('\n\n'),
      typedSearchAttributes: [
        { key: SA.workload, value: req.workload },
        { key: SA.runtime, value: req.runtime },
        { key: SA.source, value: req.source },
        { key: SA.destination, value: req.destination },
        { key: SA.phase, value: 'validating' },
      ],
    },
    `a migration of ${req.runtime}/${req.workload} from ${req.source} is already running (workflow ${workflowId}); wait for it or cancel it`,
    opts,
  );
}

export async function cancel(ctx: ClientContext, workflowId: string): Promise<void> {
  await ctx.temporal.workflow.getHandle(workflowId).cancel();
}

export async function resolve(ctx: ClientContext, workflowId: string, signal: ResolveSignal): Promise<void> {
  await ctx.temporal.workflow.getHandle(workflowId).signal(resolveSignal, signal);
}

export async function getProgress(ctx: ClientContext, workflowId: string): Promise<MigrationProgress> {
  return ctx.temporal.workflow.getHandle(workflowId).query(progressQuery);
}

export async function getLiveProgress(ctx: ClientContext, workflowId: string): Promise<MigrationProgress> {
  const progress = await getProgress(ctx, workflowId);
  if (!SLOTTED_PHASES.has(progress.phase)) return progress;
  const description = await ctx.temporal.workflow.getHandle(workflowId).describe();
  const converter = ctx.temporal.options.loadedDataConverter.payloadConverter;
  for (const a of description.raw.pendingActivities ?? []) {
    const payloads = a.heartbeatDetails?.payloads;
    if (!payloads?.length) continue;
    const details: unknown = converter.fromPayload(payloads[0]!);
    const live = liveTransfer(details);
    if (live && live.phase === progress.phase) progress.live = live;
    const waiting = slotWait(details);
    if (waiting) progress.waitingForSlot = waiting;
  }
  return progress;
}

// Phases whose steps heartbeat: bytes of a copy, or a wait for a slot (src/activities/slots.ts).
const SLOTTED_PHASES = new Set<string>([
  'ship-image',
  'presync',
  'precopy',
  'checkpoint',
  'transfer',
  'restore',
]);

/** "waiting for a CRIU slot on node-a (…)", when the heartbeat details say so. */
function slotWait(details: unknown): string | undefined {
  const d = details as { phase?: unknown; message?: unknown } | undefined;
  return d?.phase === 'waiting-for-slot' && typeof d.message === 'string' ? d.message : undefined;
}

export async function getMigration(
  ctx: ClientContext,
  workflowId: string,
): Promise<RunState<MigrationProgress, MigrationResult>> {
  return runState(ctx, workflowId, progressQuery);
}

export async function waitForMigration(
  ctx: ClientContext,
  handle: WorkflowHandle<typeof migrate>,
  onProgress?: (p: MigrationProgress) => void,
): Promise<MigrationResult> {
  return resultWithProgress(handle, () => getLiveProgress(ctx, handle.workflowId), onProgress, 250);
}

/** A transfer activity's heartbeat details, when they are that. */
function liveTransfer(details: unknown): LiveTransfer | undefined {
  const d = details as Partial<LiveTransfer> | undefined;
  if (!d || (d.phase !== 'presync' && d.phase !== 'transfer') || typeof d.bytes !== 'number')
    return undefined;
  return { phase: d.phase, bytes: d.bytes, percent: d.percent, rate: d.rate };
}
