import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowHandle,
} from '@temporalio/client';
import { validateMigrateRequest } from '../domain/validation.js';
import { hostTaskQueue, migrationWorkflowId, WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import type { MigrateRequest, MigrationProgress, MigrationResult, ResolveSignal } from '../domain/types.js';
import { progressQuery, resolveSignal } from '../workflows/definitions.js';
import { SA } from '../workflows/search-attributes.js';
import type { migrate } from '../workflows/migrate.js';

/** A request ferry refuses before starting anything; the workload is untouched. */
export class MigrationRequestError extends Error {
  override name = 'MigrationRequestError';
}

export interface FerryClientOptions {
  address: string;
  namespace?: string;
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
    const connection = await Connection.connect({ address: opts.address, connectTimeout: '10s' });
    const temporal = new Client({ connection, namespace: opts.namespace ?? 'default' });
    return new FerryClient(temporal, connection, opts);
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** Checks the request and that both hosts have a live worker; throws MigrationRequestError. */
  async checkRequest(req: MigrateRequest): Promise<void> {
    const problems = validateMigrateRequest(req);
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
  async startMigration(req: MigrateRequest): Promise<WorkflowHandle<typeof migrate>> {
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

  async getProgress(workflowId: string): Promise<MigrationProgress> {
    return this.temporal.workflow.getHandle(workflowId).query(progressQuery);
  }

  /** Starts a migration and waits for its result, reporting progress while it runs. */
  async migrate(req: MigrateRequest, onProgress?: (p: MigrationProgress) => void): Promise<MigrationResult> {
    const handle = await this.startMigration(req);
    let polling = true;
    const poller = (async () => {
      while (polling && onProgress) {
        try {
          onProgress(await handle.query(progressQuery));
        } catch {
          /* not yet started or just finished */
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      return await handle.result();
    } finally {
      polling = false;
      await poller;
    }
  }

  uiUrl(uiBase: string | undefined, workflowId: string, runId?: string): string | undefined {
    if (!uiBase) return undefined;
    const ns = encodeURIComponent(this.temporal.options.namespace);
    return `${uiBase.replace(/\/$/, '')}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}` : ''}`;
  }
}
