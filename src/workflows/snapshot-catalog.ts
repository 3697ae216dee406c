import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  setHandler,
} from '@temporalio/workflow';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import {
  dependentsOf,
  FORGET_SNAPSHOT_UPDATE,
  RECORD_SNAPSHOT_UPDATE,
  SNAPSHOT_COPY_UPDATE,
  SNAPSHOTS_QUERY,
  withCopy,
  type CatalogState,
  type SnapshotCopyChange,
  type SnapshotRecord,
} from '../domain/snapshots.js';

export const recordSnapshotUpdate = defineUpdate<SnapshotRecord, [SnapshotRecord]>(RECORD_SNAPSHOT_UPDATE);
export const snapshotCopyUpdate = defineUpdate<SnapshotRecord | null, [SnapshotCopyChange]>(
  SNAPSHOT_COPY_UPDATE,
);
export const forgetSnapshotUpdate = defineUpdate<boolean, [string]>(FORGET_SNAPSHOT_UPDATE);
export const snapshotsQuery = defineQuery<SnapshotRecord[]>(SNAPSHOTS_QUERY);

/** Changes before the entity starts anew with its state (keeps its history short). */
const CHANGES_PER_RUN = 500;

/**
 * The snapshot catalog: one long-running entity (workflow id ferry-snapshot-catalog) that holds
 * every kept snapshot and the hosts that have a copy. Every client and host reads the same list
 * from it (query) and changes it only through updates, which answer once the change is held, so
 * no second database is needed and its whole history is in the Temporal UI.
 */
export async function snapshotCatalog(initial: CatalogState): Promise<void> {
  let snapshots = initial.snapshots;
  let changes = 0;
  setHandler(recordSnapshotUpdate, (record) => {
    const old = snapshots.find((s) => s.id === record.id);
    const merged = old ? { ...record, copies: [...new Set([...old.copies, ...record.copies])] } : record;
    snapshots = [...snapshots.filter((s) => s.id !== record.id), merged];
    changes++;
    return merged;
  });
  setHandler(snapshotCopyUpdate, (change) => {
    snapshots = withCopy(snapshots, change);
    changes++;
    return snapshots.find((s) => s.id === change.id) ?? null;
  });
  setHandler(
    forgetSnapshotUpdate,
    (id) => {
      const had = snapshots.some((s) => s.id === id);
      snapshots = snapshots.filter((s) => s.id !== id);
      changes++;
      return had;
    },
    {
      validator: (id) => {
        const dependents = dependentsOf(snapshots, id);
        if (dependents.length)
          throw ferryFailure(
            ErrorType.SnapshotHasDependents,
            `snapshot ${id} cannot go: ${dependents.join(', ')} ${dependents.length > 1 ? 'depend' : 'depends'} on it (incremental); remove ${dependents.length > 1 ? 'those' : 'that one'} first`,
          );
      },
    },
  );
  setHandler(snapshotsQuery, () => snapshots);
  await condition(() => changes >= CHANGES_PER_RUN);
  await condition(allHandlersFinished);
  await continueAsNew<typeof snapshotCatalog>({ snapshots });
}
