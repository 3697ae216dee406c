// Hibernations through the typed client (docs/hibernation.md): start one and wait until its host
// is ready to reboot, read where one stands, and the Temporal Schedules that hibernate a host.
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import {
  HIBERNATE_SCHEDULE_PREFIX,
  HIBERNATE_WORKFLOW,
  hibernationWorkflowId,
  type HibernateRequest,
  type HibernationResult,
} from '../domain/hibernation.js';
import { checkName, WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import { SA } from '../workflows/search-attributes.js';
import { hibernationQuery, type hibernateHost } from '../workflows/hibernate-host.js';
import { MigrationRequestError } from './errors.js';
import { requireWorkers } from './hosts.js';
import { runState, startExclusive, type ClientContext, type RunState, type StartOptions } from './runs.js';
import { scheduleIdSuffix, scheduleSpec, type When } from './schedule-spec.js';

export type StartHibernationRequest = Omit<HibernateRequest, 'resume'>;

/** Phases in which `hibernate` stops waiting: the host may reboot now, or nothing will happen. */
const READY_PHASES: readonly string[] = [
  'ready-to-reboot',
  'overdue',
  'restoring',
  'restoring-elsewhere',
  'done',
];

export async function startHibernation(
  ctx: ClientContext,
  req: StartHibernationRequest,
  opts?: StartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof hibernateHost>> {
  checkHibernation(ctx, req);
  // It checkpoints there: its worker must be up now (and the fallback hosts' for the copies).
  await requireWorkers(ctx, [
    { role: 'hibernating', host: req.host },
    ...(req.fallbackHosts ?? []).map((host) => ({ role: 'fallback', host })),
  ]);
  const workflowId = hibernationWorkflowId(req.host);
  return startExclusive<typeof hibernateHost>(
    ctx,
    HIBERNATE_WORKFLOW,
    {
      workflowId,
      args: [req],
      staticSummary: `hibernate ${req.host} through its reboot${req.fallbackHosts?.length ? ` (fallback ${req.fallbackHosts.join(', ')})` : ''}`,
      typedSearchAttributes: [
        { key: SA.source, value: req.host },
        { key: SA.phase, value: 'checking' },
      ],
    },
    `host ${req.host} is already hibernating (workflow ${workflowId}); wait for it or cancel it`,
    opts,
  );
}

/**
 * Starts a hibernation and returns once its host is ready to reboot (or it was refused, or it
 * ended): the workflow waits on for the reboot.
 */
export async function hibernateUntilReady(
  ctx: ClientContext,
  req: StartHibernationRequest,
  onProgress?: (r: HibernationResult) => void,
): Promise<{ workflowId: string; runId: string; progress: HibernationResult }> {
  const handle = await startHibernation(ctx, req);
  return { ...(await untilReady(ctx, req.host, onProgress)), runId: handle.firstExecutionRunId };
}

/** Waits until the running hibernation of a host has it ready to reboot (or has ended). */
export async function untilReady(
  ctx: ClientContext,
  host: string,
  onProgress?: (r: HibernationResult) => void,
): Promise<{ workflowId: string; progress: HibernationResult }> {
  const handle = ctx.temporal.workflow.getHandle<typeof hibernateHost>(hibernationWorkflowId(host));
  for (;;) {
    const progress = await handle.query(hibernationQuery).catch(() => undefined);
    if (progress) {
      onProgress?.(progress);
      if (READY_PHASES.includes(progress.phase)) return { workflowId: handle.workflowId, progress };
    } else {
      // Not started yet, or it ended before a query could see it (refused at once).
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING')
        return { workflowId: handle.workflowId, progress: await handle.result() };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function getHibernation(
  ctx: ClientContext,
  host: string,
): Promise<RunState<HibernationResult, HibernationResult>> {
  return runState(ctx, hibernationWorkflowId(host), hibernationQuery);
}

export async function waitForHibernation(ctx: ClientContext, host: string): Promise<HibernationResult> {
  return ctx.temporal.workflow.getHandle<typeof hibernateHost>(hibernationWorkflowId(host)).result();
}

export interface ScheduleHibernationRequest extends When, Omit<StartHibernationRequest, 'deadline'> {
  note?: string;
}

export async function scheduleHibernation(
  ctx: ClientContext,
  opts: ScheduleHibernationRequest,
): Promise<string> {
  const { at, cron, note, ...req } = opts;
  checkHibernation(ctx, req);
  const spec = scheduleSpec({ at, cron });
  const scheduleId = `${HIBERNATE_SCHEDULE_PREFIX}${req.host}-${scheduleIdSuffix({ at, cron })}`;
  await ctx.temporal.schedule.create({
    scheduleId,
    spec,
    action: {
      type: 'startWorkflow',
      workflowType: HIBERNATE_WORKFLOW,
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowId: hibernationWorkflowId(req.host),
      args: [req],
    },
    policies: { overlap: 'SKIP', catchupWindow: '5m' },
    state: { note, ...(at ? { remainingActions: 1 } : {}) },
  });
  return scheduleId;
}

/** Names, known hosts, the deadline: refused before anything starts. */
function checkHibernation(ctx: ClientContext, req: StartHibernationRequest): void {
  const hosts = [req.host, ...(req.fallbackHosts ?? [])];
  const bad = hosts.map((h) => checkName('host', h)).filter(Boolean);
  if (bad.length) throw new MigrationRequestError(bad.join('\n'));
  for (const h of hosts)
    if (ctx.knownHosts && !ctx.knownHosts.includes(h))
      throw new MigrationRequestError(
        `unknown host "${h}": the configuration has ${ctx.knownHosts.join(', ')}`,
      );
  if (req.fallbackHosts?.includes(req.host))
    throw new MigrationRequestError(
      `${req.host} cannot be its own fallback host: name other hosts in --fallback`,
    );
  if (req.deadline !== undefined && Number.isNaN(Date.parse(req.deadline)))
    throw new MigrationRequestError(`--deadline ${req.deadline} is not an ISO date or a duration (30m, 2h)`);
}
