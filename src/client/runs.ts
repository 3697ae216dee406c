// What migrations.ts and evacuations.ts share: the connected client they act through, and
// reading or waiting on one of ferry's workflow runs.
import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { QueryDefinition, Workflow, WorkflowResultType } from '@temporalio/common';
import type { HostConfig } from '../config/schema.js';
import { WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import { describeFailure, MigrationRequestError, type RunFailure } from './errors.js';

/** The connection and configuration every request function acts with. */
export interface ClientContext {
  temporal: Client;
  /** Host names from the configuration, to refuse unknown hosts before starting. */
  knownHosts?: string[];
  /** The configured hosts themselves (ferry hosts shows their settings). */
  hosts?: HostConfig[];
  /** The config file the caller uses, for the worker command in refusals. */
  configFile?: string;
}

/** How a start was asked for, recorded on the workflow (docs/api.md#tokens). */
export interface StartOptions {
  /** The name of the API token that asked: the workflow's memo ferryApiToken. */
  startedBy?: string;
}

/** The memo of a workflow started with these options. */
export const startMemo = (opts?: StartOptions): { memo?: Record<string, string> } =>
  opts?.startedBy ? { memo: { ferryApiToken: opts.startedBy } } : {};

/**
 * Starts one of ferry's workflows. Its id names what it acts on (a workload, a host): a second
 * one while the first runs is refused as a conflict, and a finished one's id is free again.
 */
export async function startExclusive<W extends Workflow>(
  ctx: ClientContext,
  workflowType: string,
  options: Omit<WorkflowStartOptions<W>, 'taskQueue'>,
  conflict: string,
  start?: StartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<W>> {
  try {
    return await ctx.temporal.workflow.start<W>(workflowType, {
      ...options,
      ...startMemo(start),
      taskQueue: WORKFLOW_TASK_QUEUE,
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    } as WorkflowStartOptions<W>);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new MigrationRequestError(conflict, 'conflict', options.workflowId);
    throw err;
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
  failure?: RunFailure;
}

/** Throws WorkflowNotFoundError when no such workflow exists. Without a query: no progress. */
export async function runState<P, R>(
  ctx: ClientContext,
  workflowId: string,
  query?: QueryDefinition<P>,
): Promise<RunState<P, R>> {
  const handle = ctx.temporal.workflow.getHandle(workflowId);
  const d = await handle.describe();
  const state: RunState<P, R> = {
    workflowId,
    runId: d.runId,
    status: d.status.name,
    startTime: d.startTime.toISOString(),
    ...(d.closeTime ? { closeTime: d.closeTime.toISOString() } : {}),
  };
  if (d.status.name === 'RUNNING') {
    if (!query) return state;
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

/** Waits for a workflow's result, polling its progress meanwhile (when asked to). */
export async function resultWithProgress<W extends Workflow, P>(
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
