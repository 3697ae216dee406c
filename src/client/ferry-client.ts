import {
  Client,
  Connection,
  type TLSConfig,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import type { MigrateRequest, MigrationProgress, MigrationResult, ResolveSignal } from '../domain/types.js';
import type { migrate } from '../workflows/migrate/migrate.js';
import type { evacuateHost, EvacuationResult } from '../workflows/evacuate-host.js';
import type { CordonState } from '../domain/cordon.js';
import * as evacuations from './evacuations.js';
import type { EvacuationSchedule, ScheduleEvacuationRequest, StartEvacuationRequest } from './evacuations.js';
import * as hibernations from './hibernations.js';
import type { ScheduleHibernationRequest, StartHibernationRequest } from './hibernations.js';
import type { HibernationResult } from '../domain/hibernation.js';
import type { hibernateHost } from '../workflows/hibernate-host.js';
import type { HostConfig } from '../config/schema.js';
import * as hosts from './hosts.js';
import type { HostStatus, WorkerLiveness } from './hosts.js';
import * as migrations from './migrations.js';
import * as snapshots from './snapshots.js';
import type { ScheduleSnapshotsRequest, SnapshotOperationStart } from './snapshots.js';
import type {
  CatalogCheck,
  SnapshotCopyResult,
  SnapshotCreateRequest,
  SnapshotCreateResult,
  SnapshotRecord,
  SnapshotRemoveResult,
  SnapshotRestoreRequest,
  SnapshotRestoreResult,
} from '../domain/snapshots.js';
import type { ClientContext, RunState, StartOptions } from './runs.js';

// The client's public names, importable from here as before the split into files by concern;
// explicit return types below keep its API from changing when the request functions do.
export { MigrationRequestError, type RequestProblem, type RunFailure } from './errors.js';
export type { RunState, StartOptions } from './runs.js';
export type { EvacuationSchedule, ScheduleEvacuationRequest, StartEvacuationRequest } from './evacuations.js';
export type { ScheduleSnapshotsRequest, SnapshotOperationStart } from './snapshots.js';
export type { ScheduleHibernationRequest, StartHibernationRequest } from './hibernations.js';
export type { HostStatus, WorkerLiveness } from './hosts.js';

export interface FerryClientOptions {
  address: string;
  namespace?: string;
  /** TLS to the Temporal frontend (temporal.tls in the config: temporalConnectionOptions). */
  tls?: TLSConfig;
  /** Host names from the configuration, to refuse unknown hosts before starting. */
  knownHosts?: string[];
  /** The configured hosts (ferry hosts shows their settings); knownHosts defaults to their names. */
  hosts?: HostConfig[];
  /** The config file, named in the command that starts a host's worker when it is down. */
  configFile?: string;
}

/**
 * Typed client for services that trigger migrations (docs/client.md). It owns the connection;
 * the requests themselves live in migrations.ts and evacuations.ts.
 */
export class FerryClient {
  private readonly ctx: ClientContext;

  private constructor(
    readonly temporal: Client,
    private readonly connection: Connection,
    opts: FerryClientOptions,
  ) {
    this.ctx = {
      temporal,
      knownHosts: opts.knownHosts ?? opts.hosts?.map((h) => h.name),
      hosts: opts.hosts,
      configFile: opts.configFile,
    };
  }

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
  checkRequest(req: MigrateRequest): Promise<void> {
    return migrations.checkRequest(this.ctx, req);
  }

  /** Whether the host's worker answers now (a probe of a few seconds, docs/hosts.md). */
  hasWorker(host: string): Promise<boolean> {
    return hosts.hasWorker(this.ctx, host);
  }

  /** Each host's worker: up or not (and why), and what it says about itself. */
  workerLiveness(names: string[]): Promise<WorkerLiveness[]> {
    return hosts.workerLiveness(this.ctx, names);
  }

  /** Every configured host (ferry hosts): worker up, versions, runtimes, free space, cordon. */
  describeHosts(): Promise<HostStatus[]> {
    return hosts.describeHosts(this.ctx);
  }

  /** Starts a migration; refuses a second one of the same workload while the first runs. */
  startMigration(
    req: MigrateRequest,
    opts?: StartOptions,
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof migrate>> {
    return migrations.startMigration(this.ctx, req, opts);
  }

  /** Before the freeze a cancel stops cleanly; after it, it means rollback. */
  cancel(workflowId: string): Promise<void> {
    return migrations.cancel(this.ctx, workflowId);
  }

  /** Tells a migration that waits for an unreachable destination that it is down for good. */
  resolve(workflowId: string, signal: ResolveSignal): Promise<void> {
    return migrations.resolve(this.ctx, workflowId, signal);
  }

  /** The workflow's `progress` query: phase, finished phases, bytes of finished copy steps. */
  getProgress(workflowId: string): Promise<MigrationProgress> {
    return migrations.getProgress(this.ctx, workflowId);
  }

  /**
   * getProgress plus, during a copy step, its bytes so far from its activity's latest heartbeat
   * (DescribeWorkflowExecution): live figures without adding events to the history.
   */
  getLiveProgress(workflowId: string): Promise<MigrationProgress> {
    return migrations.getLiveProgress(this.ctx, workflowId);
  }

  getEvacuationProgress(workflowId: string): Promise<EvacuationResult> {
    return evacuations.getEvacuationProgress(this.ctx, workflowId);
  }

  /** Where a migration stands: its progress while it runs, its result once it completed. */
  getMigration(workflowId: string): Promise<RunState<MigrationProgress, MigrationResult>> {
    return migrations.getMigration(this.ctx, workflowId);
  }

  /** Where an evacuation stands (per-workload rows while it runs, the result once it completed). */
  getEvacuation(workflowId: string): Promise<RunState<EvacuationResult, EvacuationResult>> {
    return evacuations.getEvacuation(this.ctx, workflowId);
  }

  /** Starts a migration and waits for its result, reporting progress while it runs. */
  async migrate(req: MigrateRequest, onProgress?: (p: MigrationProgress) => void): Promise<MigrationResult> {
    return this.waitForMigration(await this.startMigration(req), onProgress);
  }

  /** Waits for a started migration's result, reporting progress while it runs. */
  waitForMigration(
    handle: WorkflowHandle<typeof migrate>,
    onProgress?: (p: MigrationProgress) => void,
  ): Promise<MigrationResult> {
    return migrations.waitForMigration(this.ctx, handle, onProgress);
  }

  /** Starts evacuating a host; refuses an unknown host or one already being evacuated. */
  startEvacuation(
    req: StartEvacuationRequest,
    opts?: StartOptions,
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof evacuateHost>> {
    return evacuations.startEvacuation(this.ctx, req, opts);
  }

  evacuate(
    req: StartEvacuationRequest,
    onProgress?: (r: EvacuationResult) => void,
  ): Promise<EvacuationResult> {
    return evacuations.evacuate(this.ctx, req, onProgress);
  }

  cordon(host: string, reason?: string): Promise<void> {
    return evacuations.cordon(this.ctx, host, reason);
  }

  uncordon(host: string): Promise<void> {
    return evacuations.uncordon(this.ctx, host);
  }

  cordonState(host: string): Promise<CordonState> {
    return evacuations.cordonState(this.ctx, host);
  }

  /** A Temporal Schedule that evacuates a host once (at) or repeatedly (cron); overlap: skip. */
  scheduleEvacuation(req: ScheduleEvacuationRequest): Promise<string> {
    return evacuations.scheduleEvacuation(this.ctx, req);
  }

  listSchedules(): Promise<EvacuationSchedule[]> {
    return evacuations.listSchedules(this.ctx);
  }

  setSchedulePaused(id: string, paused: boolean): Promise<void> {
    return evacuations.setSchedulePaused(this.ctx, id, paused);
  }

  deleteSchedule(id: string): Promise<void> {
    return evacuations.deleteSchedule(this.ctx, id);
  }

  // Hibernation (docs/hibernation.md): one workflow per host that waits across its reboot.

  /** Starts hibernating a host; refuses an unknown host, one without a worker, or one already hibernating. */
  startHibernation(
    req: StartHibernationRequest,
    opts?: StartOptions,
  ): Promise<WorkflowHandleWithFirstExecutionRunId<typeof hibernateHost>> {
    return hibernations.startHibernation(this.ctx, req, opts);
  }

  /** Starts one and returns once the host is ready to reboot (the workflow waits on for it). */
  hibernateUntilReady(
    req: StartHibernationRequest,
    onProgress?: (r: HibernationResult) => void,
  ): Promise<{ workflowId: string; runId: string; progress: HibernationResult }> {
    return hibernations.hibernateUntilReady(this.ctx, req, onProgress);
  }

  /** Waits until the running hibernation of a host has it ready to reboot (or has ended). */
  hibernationReady(host: string): Promise<{ workflowId: string; progress: HibernationResult }> {
    return hibernations.untilReady(this.ctx, host);
  }

  /** Where the (latest) hibernation of a host stands. */
  getHibernation(host: string): Promise<RunState<HibernationResult, HibernationResult>> {
    return hibernations.getHibernation(this.ctx, host);
  }

  /** Waits for the hibernation of a host to end (after the reboot and the restores). */
  waitForHibernation(host: string): Promise<HibernationResult> {
    return hibernations.waitForHibernation(this.ctx, host);
  }

  /** A Temporal Schedule that hibernates a host once (at) or repeatedly (cron); overlap: skip. */
  scheduleHibernation(req: ScheduleHibernationRequest): Promise<string> {
    return hibernations.scheduleHibernation(this.ctx, req);
  }

  // Snapshots (docs/snapshots.md): each call runs one workflow and returns its result.

  /** Checkpoints a workload into its host's store; it keeps running unless req.stop. */
  createSnapshot(req: SnapshotCreateRequest): Promise<SnapshotCreateResult> {
    return snapshots.createSnapshot(this.ctx, req);
  }

  /** The catalog, oldest first; only a workload's, or only those with a copy on a host. */
  listSnapshots(filter?: { workload?: string; host?: string }): Promise<SnapshotRecord[]> {
    return snapshots.listSnapshots(this.ctx, filter);
  }

  getSnapshot(id: string): Promise<SnapshotRecord> {
    return snapshots.getSnapshot(this.ctx, id);
  }

  /** Brings a workload back in the snapshot's state (a copy with as, a revert with replace). */
  restoreSnapshot(req: SnapshotRestoreRequest): Promise<SnapshotRestoreResult> {
    return snapshots.restoreSnapshot(this.ctx, req);
  }

  removeSnapshot(id: string, host?: string): Promise<SnapshotRemoveResult> {
    return snapshots.removeSnapshot(this.ctx, id, host);
  }

  copySnapshot(id: string, to: string): Promise<SnapshotCopyResult> {
    return snapshots.copySnapshot(this.ctx, id, to);
  }

  /** The catalog against the stores of these hosts (all configured ones by default). */
  checkSnapshots(hosts?: string[], opts?: StartOptions): Promise<CatalogCheck> {
    return snapshots.checkSnapshots(this.ctx, hosts ?? this.ctx.knownHosts ?? [], opts);
  }

  // The same four operations without waiting (the HTTP API): the same checks and refusals, then
  // the started workflow; getSnapshotOperation reads where it stands and, once done, its result.

  startSnapshotCreate(req: SnapshotCreateRequest, opts?: StartOptions): Promise<SnapshotOperationStart> {
    return snapshots.startCreateSnapshot(this.ctx, req, opts);
  }

  startSnapshotRestore(req: SnapshotRestoreRequest, opts?: StartOptions): Promise<SnapshotOperationStart> {
    return snapshots.startRestoreSnapshot(this.ctx, req, opts);
  }

  startSnapshotRemove(id: string, host?: string, opts?: StartOptions): Promise<SnapshotOperationStart> {
    return snapshots.startRemoveSnapshot(this.ctx, id, host, opts);
  }

  startSnapshotCopy(id: string, to: string, opts?: StartOptions): Promise<SnapshotOperationStart> {
    return snapshots.startCopySnapshot(this.ctx, id, to, opts);
  }

  /** A started snapshot operation: its status, and its result once it completed. */
  getSnapshotOperation(
    workflowId: string,
  ): Promise<
    RunState<
      undefined,
      SnapshotCreateResult | SnapshotRestoreResult | SnapshotRemoveResult | SnapshotCopyResult
    >
  > {
    return snapshots.getSnapshotOperation(this.ctx, workflowId);
  }

  /** Periodic snapshots with retention (a Temporal Schedule). */
  scheduleSnapshots(req: ScheduleSnapshotsRequest, opts?: StartOptions): Promise<string> {
    return snapshots.scheduleSnapshots(this.ctx, req, opts);
  }

  uiUrl(uiBase: string | undefined, workflowId: string, runId?: string): string | undefined {
    if (!uiBase) return undefined;
    const ns = encodeURIComponent(this.temporal.options.namespace);
    return `${uiBase.replace(/\/$/, '')}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
  }
}
