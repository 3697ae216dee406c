// Evacuations through the typed client: start and follow one, cordon hosts, and the Temporal
// Schedules that evacuate a host later. FerryClient (ferry-client.ts) exposes these as methods.
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { checkName, WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import type { evacuateHost, EvacuateRequest, EvacuationResult } from '../workflows/evacuate-host.js';
import { evacuationQuery, evacuationWorkflowId } from '../workflows/evacuate-host.js';
import { getCordon, setCordon } from '../activities/control.js';
import { SNAPSHOT_SCHEDULE_PREFIX } from '../domain/snapshots.js';
import { HIBERNATE_SCHEDULE_PREFIX } from '../domain/hibernation.js';
import { scheduleIdSuffix, scheduleSpec } from './schedule-spec.js';
import type { CordonState } from '../domain/cordon.js';
import { MigrationRequestError } from './errors.js';
import { requireWorkers, workerLiveness } from './hosts.js';
import {
  resultWithProgress,
  runState,
  startExclusive,
  type ClientContext,
  type RunState,
  type StartOptions,
} from './runs.js';

/** An evacuation as callers ask for it: candidates default to every other configured host. */
export type StartEvacuationRequest = Omit<EvacuateRequest, 'candidates'> & { candidates?: string[] };

/** An evacuation later: once (at) or repeatedly (cron), exactly one of the two. */
export interface ScheduleEvacuationRequest {
  host: string;
  at?: Date;
  cron?: string;
  /** Shown in ferry schedule list and the Temporal UI. */
  note?: string;
  candidates?: string[];
  concurrency?: number;
}

/** One evacuation schedule, as ferry schedule list shows it. */
export interface EvacuationSchedule {
  id: string;
  paused: boolean;
  note?: string;
  nextRun?: Date;
  recentRuns: number;
}

export async function startEvacuation(
  ctx: ClientContext,
  req: StartEvacuationRequest,
  opts?: StartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof evacuateHost>> {
  const full = withCandidates(ctx, req);
  // One probe for all: the source's worker must be up, and at least one candidate's (a candidate
  // whose worker is down is left out by the workflow).
  const liveness = await workerLiveness(ctx, [...new Set([req.host, ...full.candidates])]);
  await requireWorkers(ctx, [{ role: 'source', host: req.host }], liveness);
  if (!liveness.some((l) => l.up && full.candidates.includes(l.host)))
    await requireWorkers(
      ctx,
      full.candidates.map((host) => ({ role: 'destination', host })),
      liveness,
    );
  const workflowId = evacuationWorkflowId(req.host);
  return startExclusive<typeof evacuateHost>(
    ctx,
    'evacuateHost',
    { workflowId, args: [full], staticSummary: `evacuate ${req.host} → ${full.candidates.join(', ')}` },
    `host ${req.host} is already being evacuated (workflow ${workflowId}); wait for it or cancel it`,
    opts,
  );
}

export async function evacuate(
  ctx: ClientContext,
  req: StartEvacuationRequest,
  onProgress?: (r: EvacuationResult) => void,
): Promise<EvacuationResult> {
  const handle = await startEvacuation(ctx, req);
  return resultWithProgress(handle, () => handle.query(evacuationQuery), onProgress, 500);
}

export async function getEvacuationProgress(
  ctx: ClientContext,
  workflowId: string,
): Promise<EvacuationResult> {
  return ctx.temporal.workflow.getHandle(workflowId).query(evacuationQuery);
}

export async function getEvacuation(
  ctx: ClientContext,
  workflowId: string,
): Promise<RunState<EvacuationResult, EvacuationResult>> {
  return runState(ctx, workflowId, evacuationQuery);
}

/** Candidates default to every other configured host; all names are checked first. */
function withCandidates(ctx: ClientContext, req: StartEvacuationRequest): EvacuateRequest {
  const known = ctx.knownHosts;
  const bad = [
    checkName('host', req.host),
    ...(req.candidates ?? []).map((c) => checkName('host', c)),
  ].filter(Boolean);
  if (bad.length) throw new MigrationRequestError(bad.join('\n'));
  for (const h of [req.host, ...(req.candidates ?? [])])
    if (known && !known.includes(h))
      throw new MigrationRequestError(`unknown host "${h}": the configuration has ${known.join(', ')}`);
  const candidates = req.candidates ?? (known ?? []).filter((h) => h !== req.host);
  if (candidates.length === 0)
    throw new MigrationRequestError(
      `no destination for ${req.host}: give --to or list more hosts in the configuration`,
    );
  return { ...req, candidates };
}

export async function cordon(ctx: ClientContext, host: string, reason?: string): Promise<void> {
  await setCordon(ctx.temporal, host, true, reason ?? 'by an operator');
}

export async function uncordon(ctx: ClientContext, host: string): Promise<void> {
  await setCordon(ctx.temporal, host, false);
}

export async function cordonState(ctx: ClientContext, host: string): Promise<CordonState> {
  return getCordon(ctx.temporal, host);
}

const EVACUATE_SCHEDULE_PREFIX = 'evacuate-';

export async function scheduleEvacuation(
  ctx: ClientContext,
  opts: ScheduleEvacuationRequest,
): Promise<string> {
  const req = withCandidates(ctx, {
    host: opts.host,
    candidates: opts.candidates,
    concurrency: opts.concurrency,
  });
  const spec = scheduleSpec(opts);
  const scheduleId = `${EVACUATE_SCHEDULE_PREFIX}${opts.host}-${scheduleIdSuffix(opts)}`;
  await ctx.temporal.schedule.create({
    scheduleId,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: 'evacuateHost',
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: evacuationWorkflowId(opts.host),
      args: [req],
    },
    policies: { overlap: 'SKIP', catchupWindow: '5m' },
    state: { note: opts.note, ...(opts.at ? { remainingActions: 1 } : {}) },
  });
  return scheduleId;
}

export async function listSchedules(ctx: ClientContext): Promise<EvacuationSchedule[]> {
  const out = [];
  for await (const s of ctx.temporal.schedule.list()) {
    if (
      ![EVACUATE_SCHEDULE_PREFIX, SNAPSHOT_SCHEDULE_PREFIX, HIBERNATE_SCHEDULE_PREFIX].some((p) =>
        s.scheduleId.startsWith(p),
      )
    )
      continue;
    out.push({
      id: s.scheduleId,
      paused: s.state.paused,
      note: s.state.note,
      nextRun: s.info.nextActionTimes[0],
      recentRuns: s.info.recentActions.length,
    });
  }
  return out;
}

export async function setSchedulePaused(ctx: ClientContext, id: string, paused: boolean): Promise<void> {
  const handle = ctx.temporal.schedule.getHandle(id);
  await (paused
    ? handle.pause('paused with ferry schedule pause')
    : handle.unpause('unpaused with ferry schedule unpause'));
}

export async function deleteSchedule(ctx: ClientContext, id: string): Promise<void> {
  await ctx.temporal.schedule.getHandle(id).delete();
}
