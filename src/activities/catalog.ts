// The snapshot catalog (src/workflows/snapshot-catalog.ts) as its callers reach it through
// Temporal: updates return once the catalog holds the change (read-after-write), and the first
// one starts the entity if it is not running yet. Used by the control activities and the client.
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import { WORKFLOW_TASK_QUEUE } from '../domain/names.js';
import {
  FORGET_SNAPSHOT_UPDATE,
  RECORD_SNAPSHOT_UPDATE,
  SNAPSHOT_CATALOG_ID,
  SNAPSHOT_CATALOG_WORKFLOW,
  SNAPSHOT_COPY_UPDATE,
  SNAPSHOTS_QUERY,
  type CatalogState,
  type SnapshotCopyChange,
  type SnapshotRecord,
} from '../domain/snapshots.js';

function update<R>(client: Client, name: string, arg: unknown): Promise<R> {
  const initial: CatalogState = { snapshots: [] };
  return client.workflow.executeUpdateWithStart<Workflow, R, [unknown]>(name, {
    args: [arg],
    startWorkflowOperation: new WithStartWorkflowOperation(SNAPSHOT_CATALOG_WORKFLOW, {
      workflowId: SNAPSHOT_CATALOG_ID,
      taskQueue: WORKFLOW_TASK_QUEUE,
      args: [initial],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: 'the snapshot catalog: every kept snapshot and the hosts holding a copy',
    }),
  });
}

export const recordSnapshot = (client: Client, record: SnapshotRecord) =>
  update<SnapshotRecord>(client, RECORD_SNAPSHOT_UPDATE, record);
export const recordSnapshotCopy = (client: Client, change: SnapshotCopyChange) =>
  update<SnapshotRecord | null>(client, SNAPSHOT_COPY_UPDATE, change);
/** Refused (SnapshotHasDependents) while another snapshot depends on it. */
export const forgetSnapshot = (client: Client, id: string) =>
  update<boolean>(client, FORGET_SNAPSHOT_UPDATE, id);

/** Every snapshot the catalog holds (none before the first one is taken). */
export async function readCatalog(client: Client): Promise<SnapshotRecord[]> {
  try {
    return await client.workflow.getHandle(SNAPSHOT_CATALOG_ID).query<SnapshotRecord[]>(SNAPSHOTS_QUERY);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return [];
    throw err;
  }
}
