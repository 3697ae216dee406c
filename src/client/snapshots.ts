// Snapshot requests (docs/snapshots.md): checked here first (names, hosts, workers, the
// catalog), so that a refusal starts nothing; each operation is one workflow.
import { randomBytes } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { forgetSnapshot, readCatalog } from '../activities/catalog.js';
import { checkName, isRuntimeName, RUNTIMES, WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import {
  checkSnapshotId,
  parseDuration,
  snapshotCopyWorkflowId,
  snapshotCreateWorkflowId,
  snapshotId,
  snapshotRemoveWorkflowId,
  snapshotRestoreWorkflowId,
  snapshotScheduleId,
  type CatalogCheck,
  type ScheduledSnapshotRequest,
  type SnapshotCopyResult,
  type SnapshotCreateRequest,
  type SnapshotCreateResult,
  type SnapshotRecord,
  type SnapshotRemoveResult,
  type SnapshotRestoreRequest,
  type SnapshotRestoreResult,
} from '../domain/snapshots.js';
import { MigrationRequestError } from './errors.js';
import { requireWorkers, requireWorkflowWorker } from './hosts.js';
import {
  runState,
  startExclusive,
  startMemo,
  type ClientContext,
  type RunState,
  type StartOptions,
} from './runs.js';

function refuse(problems: (string | undefined | false)[]): void {
  const found = problems.filter((p): p is string => typeof p === 'string');
  if (found.length) throw new MigrationRequestError(found.join('; '));
}

function checkHostKnown(ctx: ClientContext, host: string): string | undefined {
  const bad = checkName('host', host);
  if (bad) return bad;
  if (ctx.knownHosts && !ctx.knownHosts.includes(host))
    return `host ${host} is not in the configuration (hosts: ${ctx.knownHosts.join(', ')})`;
  return undefined;
}

const requireWorker = (ctx: ClientContext, host: string, role: string) =>
  requireWorkers(ctx, [{ role, host }]);

async function finish<R>(handle: WorkflowHandle<Workflow>): Promise<R> {
  return (await handle.result()) as R;
}

/**
 * A snapshot operation that was started (for the HTTP API, which answers at once and lets the
 * caller poll): the checks before it are the same as the waiting functions', which are these
 * plus waiting for the result.
 */
export interface SnapshotOperationStart {
  snapshotId: string;
  handle: WorkflowHandle<Workflow> & { firstExecutionRunId: string };
}

/** The snapshot workflows' ids start with these (restores are per workload: restore-…). */
export const SNAPSHOT_OPERATION_PREFIXES = ['snapshot-create-', 'snapshot-rm-', 'snapshot-copy-', 'restore-'];

/**
 * Where a started snapshot operation stands (snapshot workflows have no progress query: a running
 * one shows its status only); throws WorkflowNotFoundError when there is none.
 */
export function getSnapshotOperation(
  ctx: ClientContext,
  workflowId: string,
): Promise<
  RunState<
    undefined,
    SnapshotCreateResult | SnapshotRestoreResult | SnapshotRemoveResult | SnapshotCopyResult
  >
> {
  return runState(ctx, workflowId);
}

export async function listSnapshots(
  ctx: ClientContext,
  filter: { workload?: string; host?: string } = {},
): Promise<SnapshotRecord[]> {
  return (await readCatalog(ctx.temporal))
    .filter(
      (s) =>
        (!filter.workload || s.workload === filter.workload) &&
        (!filter.host || s.copies.includes(filter.host)),
    )
    .sort((a, b) => a.createdAtMs - b.createdAtMs);
}

/** The catalog's record; MigrationRequestError (invalid) when there is none. */
export async function getSnapshot(ctx: ClientContext, id: string): Promise<SnapshotRecord> {
  refuse([checkSnapshotId(id)]);
  const found = (await readCatalog(ctx.temporal)).find((s) => s.id === id);
  if (!found)
    throw new MigrationRequestError(`no snapshot ${id} in the catalog: ferry snapshot ls lists them`);
  return found;
}

export async function createSnapshot(
  ctx: ClientContext,
  req: SnapshotCreateRequest,
): Promise<SnapshotCreateResult> {
  return finish((await startCreateSnapshot(ctx, req)).handle);
}

export async function startCreateSnapshot(
  ctx: ClientContext,
  req: SnapshotCreateRequest,
  opts?: StartOptions,
): Promise<SnapshotOperationStart> {
  refuse([
    checkName('workload', req.workload),
    !isRuntimeName(req.runtime) && `--runtime must be one of ${RUNTIMES.join(', ')}`,
    checkHostKnown(ctx, req.host),
  ]);
  await requireWorker(ctx, req.host, 'snapshot');
  const id = req.snapshotId ?? snapshotId(req.workload, Date.now(), randomBytes(2).toString('hex'));
  const handle = await startExclusive(
    ctx,
    'snapshotCreate',
    {
      workflowId: snapshotCreateWorkflowId(id),
      args: [{ ...req, snapshotId: id }],
      staticSummary: `snapshot ${req.runtime}/${req.workload} on ${req.host}${req.stop ? ' (then stop it)' : ''}`,
    },
    `snapshot ${id} is being taken already`,
    opts,
  );
  return { snapshotId: id, handle };
}

export async function restoreSnapshot(
  ctx: ClientContext,
  req: SnapshotRestoreRequest,
): Promise<SnapshotRestoreResult> {
  return finish((await startRestoreSnapshot(ctx, req)).handle);
}

export async function startRestoreSnapshot(
  ctx: ClientContext,
  req: SnapshotRestoreRequest,
  opts?: StartOptions,
): Promise<SnapshotOperationStart> {
  refuse([
    checkSnapshotId(req.snapshotId),
    checkHostKnown(ctx, req.host),
    req.as !== undefined && checkName('workload', req.as),
  ]);
  if (req.discardCurrent && !req.replace) refuse(['--discard-current only goes with --replace']);
  const record = await getSnapshot(ctx, req.snapshotId);
  await requireWorker(ctx, req.host, 'restore');
  const target = req.as ?? record.workload;
  const handle = await startExclusive(
    ctx,
    'snapshotRestore',
    {
      workflowId: snapshotRestoreWorkflowId(record.runtime, req.host, target),
      args: [req],
      staticSummary: `restore ${record.runtime}/${target} on ${req.host} from snapshot ${record.id}${req.replace ? ' (revert)' : ''}${req.paused ? ' (paused)' : ''}`,
    },
    `a restore of ${record.runtime}/${target} on ${req.host} runs already`,
    opts,
  );
  return { snapshotId: record.id, handle };
}

export async function removeSnapshot(
  ctx: ClientContext,
  id: string,
  host?: string,
): Promise<SnapshotRemoveResult> {
  return finish((await startRemoveSnapshot(ctx, id, host)).handle);
}

export async function startRemoveSnapshot(
  ctx: ClientContext,
  id: string,
  host?: string,
  opts?: StartOptions,
): Promise<SnapshotOperationStart> {
  refuse([checkSnapshotId(id), host !== undefined && checkHostKnown(ctx, host)]);
  await getSnapshot(ctx, id);
  const handle = await startExclusive(
    ctx,
    'snapshotRemove',
    {
      workflowId: snapshotRemoveWorkflowId(id),
      args: [{ snapshotId: id, host }],
      staticSummary: `remove snapshot ${id}${host ? ` from ${host}` : ''}`,
    },
    `snapshot ${id} is being removed already`,
    opts,
  );
  return { snapshotId: id, handle };
}

export async function copySnapshot(ctx: ClientContext, id: string, to: string): Promise<SnapshotCopyResult> {
  return finish((await startCopySnapshot(ctx, id, to)).handle);
}

export async function startCopySnapshot(
  ctx: ClientContext,
  id: string,
  to: string,
  opts?: StartOptions,
): Promise<SnapshotOperationStart> {
  refuse([checkSnapshotId(id), checkHostKnown(ctx, to)]);
  await getSnapshot(ctx, id);
  await requireWorker(ctx, to, 'destination');
  const handle = await startExclusive(
    ctx,
    'snapshotCopy',
    {
      workflowId: snapshotCopyWorkflowId(id, to),
      args: [{ snapshotId: id, to }],
      staticSummary: `copy snapshot ${id} to ${to}`,
    },
    `snapshot ${id} is being copied to ${to} already`,
    opts,
  );
  return { snapshotId: id, handle };
}

/** The catalog against every configured host's store (hosts whose worker is down are named). */
export async function checkSnapshots(
  ctx: ClientContext,
  hosts: string[],
  opts?: StartOptions,
): Promise<CatalogCheck> {
  await requireWorkflowWorker(ctx);
  const handle = await ctx.temporal.workflow.start('snapshotCheck', {
    ...startMemo(opts),
    workflowId: `snapshot-check-${Date.now()}-${randomBytes(3).toString('hex')}`,
    taskQueue: WORKFLOW_TASK_QUEUE,
    args: [{ hosts }],
    staticSummary: `compare the snapshot catalog with the stores of ${hosts.join(', ')}`,
  });
  return finish(handle);
}

/** Drops a catalog entry whose copies are all gone (what check reports as missing everywhere). */
export async function forgetSnapshotEntry(ctx: ClientContext, id: string): Promise<boolean> {
  refuse([checkSnapshotId(id)]);
  return forgetSnapshot(ctx.temporal, id);
}

export interface ScheduleSnapshotsRequest {
  workload: string;
  runtime: string;
  host: string;
  every: string;
  keep: number;
  maxAge?: string;
  criu?: SnapshotCreateRequest['criu'];
}

/** A Temporal Schedule that takes a snapshot every interval and applies the retention. */
export async function scheduleSnapshots(
  ctx: ClientContext,
  req: ScheduleSnapshotsRequest,
  opts?: StartOptions,
): Promise<string> {
  const everyMs = parseDuration(req.every);
  const maxAgeMs = req.maxAge === undefined ? undefined : parseDuration(req.maxAge);
  refuse([
    checkName('workload', req.workload),
    !isRuntimeName(req.runtime) && `--runtime must be one of ${RUNTIMES.join(', ')}`,
    checkHostKnown(ctx, req.host),
    everyMs === undefined && `--every "${req.every}" is not a duration such as 30s, 15m, 2h or 1d`,
    everyMs !== undefined && everyMs < 10_000 && '--every must be at least 10s',
    (!Number.isInteger(req.keep) || req.keep < 1) &&
      `--keep must be a whole number of at least 1 (got ${req.keep})`,
    req.maxAge !== undefined &&
      maxAgeMs === undefined &&
      `--max-age "${req.maxAge}" is not a duration such as 12h or 7d`,
  ]);
  const runtime = req.runtime as SnapshotCreateRequest['runtime'];
  const scheduleId = snapshotScheduleId(runtime, req.host, req.workload);
  const args: ScheduledSnapshotRequest = {
    workload: req.workload,
    runtime,
    host: req.host,
    series: scheduleId,
    keep: req.keep,
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    ...(req.criu ? { criu: req.criu } : {}),
  };
  await ctx.temporal.schedule.create({
    scheduleId,
    spec: { intervals: [{ every: everyMs! }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledSnapshot',
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: `scheduled-${scheduleId}`,
      args: [args],
      ...startMemo(opts),
    },
    ...startMemo(opts),
    policies: { overlap: 'SKIP', catchupWindow: '1m' },
    state: {
      note: `snapshot ${runtime}/${req.workload} on ${req.host} every ${req.every}, keep ${req.keep}${req.maxAge ? `, at most ${req.maxAge} old` : ''}`,
    },
  });
  return scheduleId;
}
