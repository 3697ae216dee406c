import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import {
  CORDON_QUERY,
  cordonWorkflowId,
  HOST_CORDON_WORKFLOW,
  SET_CORDON_SIGNAL,
  type CordonChange,
  type CordonState,
} from '../domain/cordon.js';
import type { SnapshotCopyChange, SnapshotRecord } from '../domain/snapshots.js';
import { forgetSnapshot, readCatalog, recordSnapshot, recordSnapshotCopy } from './catalog.js';

/** Sets a host's cordon: signals its entity workflow, starting it if needed. */
export async function setCordon(
  client: Client,
  host: string,
  cordoned: boolean,
  reason?: string,
): Promise<void> {
  const initial: CordonState = { host, cordoned: false };
  const change: CordonChange = { cordoned, reason };
  await client.workflow.signalWithStart(HOST_CORDON_WORKFLOW, {
    workflowId: cordonWorkflowId(host),
    taskQueue: WORKFLOW_TASK_QUEUE,
    args: [initial],
    signal: SET_CORDON_SIGNAL,
    signalArgs: [change],
    staticSummary: `cordon state of host ${host}`,
  });
}

export async function getCordon(client: Client, host: string): Promise<CordonState> {
  try {
    return await client.workflow.getHandle(cordonWorkflowId(host)).query<CordonState>(CORDON_QUERY);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { host, cordoned: false };
    throw err;
  }
}

/**
 * Activities that need no particular host, only Temporal: served by every worker on the
 * shared workflow queue.
 */
export function controlActivities(client: Client) {
  return {
    async setHostCordon(input: { host: string; cordoned: boolean; reason?: string }): Promise<void> {
      await setCordon(client, input.host, input.cordoned, input.reason);
    },
    async getHostCordons(input: { hosts: string[] }): Promise<CordonState[]> {
      return Promise.all(input.hosts.map((h) => getCordon(client, h)));
    },
    recordSnapshot: (record: SnapshotRecord) => recordSnapshot(client, record),
    recordSnapshotCopy: (change: SnapshotCopyChange) => recordSnapshotCopy(client, change),
    forgetSnapshot: (input: { id: string }) => forgetSnapshot(client, input.id),
    readCatalog: () => readCatalog(client),
  };
}

export type ControlActivities = ReturnType<typeof controlActivities>;
