import type { QueryDefinition, Workflow, WorkflowResultType } from '@temporalio/common';
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  type TLSConfig,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { validateMigrateRequest } from '../domain/validation.js';
import { capabilitiesOf } from '../runtimes/capabilities.js';
import { checkName, hostTaskQueue, migrationWorkflowId, WORKFLOW_TASK_QUEUE } from '../domain/names.js';
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
import type { evacuateHost, EvacuateRequest, EvacuationResult } from '../workflows/evacuate-host.js';
import { evacuationQuery, evacuationWorkflowId } from '../workflows/evacuate-host.js';
import { getCordon, setCordon } from '../activities/control.js';
import type { CordonState } from '../domain/cordon.js';

/**
 * Why a request was refused: `invalid` (bad or unknown names, bad options), `conflict` (one of
 * the same workload or host already runs), `no-worker` (a host's worker is not polling).
 */
export type RequestProblem = 'invalid' | 'conflict' | 'no-worker';

/** A request ferry refuses before starting anything; the workload is untouched. */
export class MigrationRequestError extends Error {
  override name = 'MigrationRequestError';
  constructor(
    message: string,
    readonly problem: RequestProblem = 'invalid',
    /** The running workflow a conflict is with. */
    readonly workflowId?: string,
  ) {
    super(message);
  }
}

export interface FerryClientOptions {
  address: string;
  namespace?: string;
  /** TLS to the Temporal frontend (temporal.tls in the config: temporalConnectionOptions). */
  tls?: TLSConfig;
  /** Host names from the configuration, to refuse unknown hosts before starting. */
  knownHosts?: string[];
}

/** Typed client for services that trigger migrations (docs/client.md). */
export class FerryClient {
  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
    private readonly opts: FerryClientOptions,
  ) {}

  static async connect(opts: FerryClientOptions): Promise<FerryClient> {
    const connection = await Connection.connect({
      address: opts.address,
      tls: opts.tls,
      connectTimeout: '10s',
    });
    const temporal = new Client({ connection, namespace: opts.namespace ?? 'default' });
    return new FerryClient(temporal, connection, opts);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Checks the request and that both hosts have a live worker; throws MigrationRequestError. */
  async checkRequest(req: MigrateRequest): Promise<void> {
    const problems = validateMigrateRequest(req, capabilitiesOf);
    if (problems.length) throw new MigrationRequestError(problems.join('\n'));
    const known = this.opts.knownHosts;
    for (const [role, host] of [
      ['source', req.source],
      ['destination', req.destination],
    ] as const) {
      if (known && !known.includes(host))
        throw new MigrationRequestError(
          `unknown ${role} host "${host}": the configuration has ${known.join(', ')}`,
        );
      if (!(await this.hasWorker(host)))
        throw new MigrationRequestError(
          `${role} host "${host}" has no running ferry worker (task queue ${hostTaskQueue(host)} has no pollers); start it with: ferry worker --host ${host} --config FILE`,
          'no-worker',
        );
    }
  }

  async hasWorker(host: string): Promise<boolean> {
    const res = await this.temporal.workflowService.describeTaskQueue({
      namespace: this.temporal.options.namespace,
      taskQueue: { name: hostTaskQueue(host) },
      taskQueueType: 2, // activity
    });
    return (res.pollers?.length ?? 0) > 0;
  }

  /** Starts a migration; refuses a second one of the same workload while the first runs. */
  async startMigration(req: MigrateRequest): Promise<WorkflowHandleWithFirstExecutionRunId<typeof migrate>> {
    await this.checkRequest(req);
    const workflowId = migrationWorkflowId(req.runtime, req.source, req.workload);
    try {
      return await this.temporal.workflow.start<typeof migrate>('migrate', {
        taskQueue: WORKFLOW_TASK_QUEUE,
        workflowId,
        args: [req],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
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
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new MigrationRequestError(
          `a migration of ${req.runtime}/${req.workload} from ${req.source} is already running (workflow ${workflowId}); wait for it or cancel it`,
          'conflict',
          workflowId,
        );
      throw err;
    }
  }

  /** Before the freeze a cancel stops cleanly; after it, it means rollback. */
  async cancel(workflowId: string): Promise<void> {
    await this.temporal.workflow.getHandle(workflowId).cancel();
  }

  /** Tells a migration that waits for an unreachable destination that it is down for good. */
  async resolve(workflowId: string, signal: ResolveSignal): Promise<void> {
    await this.temporal.workflow.getHandle(workflowId).signal(resolveSignal, signal);
  }

  /** The workflow's `progress` query: phase, finished phases, bytes of finished copy steps. */
  async getProgress(workflowId: string): Promise<MigrationProgress> {
    return this.temporal.workflow.getHandle(workflowId).query(progressQuery);
  }

  /**
   * getProgress plus, during a copy step, its bytes so far from its activity's latest heartbeat
   * (DescribeWorkflowExecution): live figures without adding events to the history.
   */
  async getLiveProgress(workflowId: string): Promise<MigrationProgress> {
    const progress = await this.getProgress(workflowId);
    if (progress.phase !== 'presync' && progress.phase !== 'transfer') return progress;
    const description = await this.temporal.workflow.getHandle(workflowId).describe();
    const converter = this.temporal.options.loadedDataConverter.payloadConverter;
    for (const a of description.raw.pendingActivities ?? []) {
      const payloads = a.heartbeatDetails?.payloads;
      if (!payloads?.length) continue;
      const live = liveTransfer(converter.fromPayload(payloads[0]!));
      if (live && live.phase === progress.phase) progress.live = live;
    }
    return progress;
  }

  async getEvacuationProgress(workflowId: string): Promise<EvacuationResult> {
    return this.temporal.workflow.getHandle(workflowId).query(evacuationQuery);
  }

  /** Where a migration stands: its progress while it runs, its result once it completed. */
  async getMigration(workflowId: string): Promise<RunState<MigrationProgress, MigrationResult>> {
    return this.runState(workflowId, progressQuery);
  }

  /** Where an evacuation stands (per-workload rows while it runs, the result once it completed). */
  async getEvacuation(workflowId: string): Promise<RunState<EvacuationResult, EvacuationResult>> {
    return this.runState(workflowId, evacuationQuery);
  }

  /** Throws WorkflowNotFoundError when no such workflow exists. */
  private async runState<P, R>(workflowId: string, query: QueryDefinition<P>): Promise<RunState<P, R>> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    const d = await handle.describe();
    const state: RunState<P, R> = {
      workflowId,
      runId: d.runId,
      status: d.status.name,
      startTime: d.startTime.toISOString(),
      ...(d.closeTime ? { closeTime: d.closeTime.toISOString() } : {}),
    };
    if (d.status.name === 'RUNNING') {
      // Before its first workflow task the query has no handler yet: no progress to show.
      state.progress = await handle.query(query).catch(() => undefined);
    } else if (d.status.name === 'COMPLETED') {
      state.result = (await handle.result()) as R;
    } else {
      state.failure = await handle.result().then(
        () => undefined,
        (err: Error) => describeFailure(err),
      );
    }
    return state;
  }

  /** Starts a migration and waits for its result, reporting progress while it runs. */
  async migrate(req: MigrateRequest, onProgress?: (p: MigrationProgress) => void): Promise<MigrationResult> {
    return this.waitForMigration(await this.startMigration(req), onProgress);
  }

  /** Waits for a started migration's result, reporting progress while it runs. */
  async waitForMigration(
    handle: WorkflowHandle<typeof migrate>,
    onProgress?: (p: MigrationProgress) => void,
  ): Promise<MigrationResult> {
    return resultWithProgress(handle, () => this.getLiveProgress(handle.workflowId), onProgress, 250);
  }

  /** Starts evacuating a host; refuses an unknown host or one already being evacuated. */
  async startEvacuation(
    req: Omit<EvacuateRequest, 'candidates'> & { candidates?: string[] },
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof evacuateHost>> {
    const full = this.withCandidates(req);
    const workflowId = evacuationWorkflowId(req.host);
    try {
      return await this.temporal.workflow.start<typeof evacuateHost>('evacuateHost', {
        taskQueue: WORKFLOW_TASK_QUEUE,
        workflowId,
        args: [full],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        staticSummary: `evacuate ${req.host} → ${full.candidates.join(', ')}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new MigrationRequestError(
          `host ${req.host} is already being evacuated (workflow ${workflowId}); wait for it or cancel it`,
          'conflict',
          workflowId,
        );
      throw err;
    }
  }

  async evacuate(
    req: Omit<EvacuateRequest, 'candidates'> & { candidates?: string[] },
    onProgress?: (r: EvacuationResult) => void,
  ): Promise<EvacuationResult> {
    const handle = await this.startEvacuation(req);
    return resultWithProgress(handle, () => handle.query(evacuationQuery), onProgress, 500);
  }

  /** Candidates default to every other configured host; all names are checked first. */
  private withCandidates(
    req: Omit<EvacuateRequest, 'candidates'> & { candidates?: string[] },
  ): EvacuateRequest {
    const known = this.opts.knownHosts;
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

  async cordon(host: string, reason?: string): Promise<void> {
    await setCordon(this.temporal, host, true, reason ?? 'by an operator');
  }

  async uncordon(host: string): Promise<void> {
    await setCordon(this.temporal, host, false);
  }

  async cordonState(host: string): Promise<CordonState> {
    return getCordon(this.temporal, host);
  }

  /** A Temporal Schedule that evacuates a host once (at) or repeatedly (cron); overlap: skip. */
  async scheduleEvacuation(opts: {
    host: string;
    at?: Date;
    cron?: string;
    note?: string;
    candidates?: string[];
    concurrency?: number;
  }): Promise<string> {
    const req = this.withCandidates({
      host: opts.host,
      candidates: opts.candidates,
      concurrency: opts.concurrency,
    });
    if (!opts.at === !opts.cron)
      throw new MigrationRequestError('give exactly one of --at ISO or --cron EXPR');
    if (opts.at && Number.isNaN(opts.at.getTime()))
      throw new MigrationRequestError('--at is not an ISO date, e.g. 2026-12-01T02:00:00Z');
    const scheduleId = `evacuate-${opts.host}-${opts.at ? opts.at.toISOString().replace(/[:.]/g, '-') : 'cron'}`;
    await this.temporal.schedule.create({
      scheduleId,
      spec: opts.at ? { calendars: [atCalendar(opts.at)] } : { cronExpressions: [opts.cron!] },
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

  async listSchedules(): Promise<
    { id: string; paused: boolean; note?: string; nextRun?: Date; recentRuns: number }[]
  > {
    const out = [];
    for await (const s of this.temporal.schedule.list()) {
      if (!s.scheduleId.startsWith('evacuate-')) continue;
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

  async setSchedulePaused(id: string, paused: boolean): Promise<void> {
    const handle = this.temporal.schedule.getHandle(id);
    await (paused
      ? handle.pause('paused with ferry schedule pause')
      : handle.unpause('unpaused with ferry schedule unpause'));
  }

  async deleteSchedule(id: string): Promise<void> {
    await this.temporal.schedule.getHandle(id).delete();
  }

  uiUrl(uiBase: string | undefined, workflowId: string, runId?: string): string | undefined {
    if (!uiBase) return undefined;
    const ns = encodeURIComponent(this.temporal.options.namespace);
    return `${uiBase.replace(/\/$/, '')}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
  }
}

/** A workflow's state as the HTTP API and other services see it. */
export interface RunState<P, R> {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, ... */
  status: string;
  startTime: string;
  closeTime?: string;
  progress?: P;
  result?: R;
  /** Why the workflow itself failed (e.g. InvalidInput); a rolled-back migration completes instead. */
  failure?: { type?: string; message: string };
}

/** The innermost cause of a workflow failure: its application type and message. */
function describeFailure(err: Error): { type?: string; message: string } {
  let e: (Error & { cause?: unknown; type?: string }) | undefined = err;
  while (e?.cause instanceof Error) e = e.cause as Error & { cause?: unknown; type?: string };
  return { ...(e?.type ? { type: e.type } : {}), message: e?.message ?? String(err) };
}

const MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
] as const;

/** A calendar spec that matches one instant (to the second), for one-shot schedules. */
function atCalendar(at: Date) {
  return {
    year: at.getUTCFullYear(),
    month: MONTHS[at.getUTCMonth()]!,
    dayOfMonth: at.getUTCDate(),
    hour: at.getUTCHours(),
    minute: at.getUTCMinutes(),
    second: at.getUTCSeconds(),
    comment: `once at ${at.toISOString()}`,
  };
}

/** A transfer activity's heartbeat details, when they are that. */
function liveTransfer(details: unknown): LiveTransfer | undefined {
  const d = details as Partial<LiveTransfer> | undefined;
  if (!d || (d.phase !== 'presync' && d.phase !== 'transfer') || typeof d.bytes !== 'number')
    return undefined;
  return { phase: d.phase, bytes: d.bytes, percent: d.percent, rate: d.rate };
}

/** Waits for a workflow's result, polling its progress meanwhile (when asked to). */
async function resultWithProgress<W extends Workflow, P>(
  handle: WorkflowHandle<W>,
  read: () => Promise<P>,
  onProgress: ((p: P) => void) | undefined,
  everyMs: number,
): Promise<WorkflowResultType<W>> {
  let polling = !!onProgress;
  const poller = (async () => {
    while (polling) {
      // Not yet started or just finished: skip this round.
      await read().then(
        (p) => onProgress?.(p),
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  try {
    return await handle.result();
  } finally {
    polling = false;
    await poller;
  }
}
