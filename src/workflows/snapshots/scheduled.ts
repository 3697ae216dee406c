import { uuid4 } from '@temporalio/workflow';
import {
  retentionVictims,
  snapshotId,
  type ScheduledSnapshotRequest,
  type ScheduledSnapshotResult,
} from '../../domain/snapshots.js';
import { bestEffort } from '../host-steps.js';
import { catalog } from './catalog-steps.js';
import { snapshotCreate } from './create.js';
import { removeSnapshot } from './remove.js';

/**
 * One run of `ferry schedule snapshot` (a Temporal Schedule starts it): take a snapshot, then
 * apply the series' retention (keep the newest N, none older than max age) to its own series
 * only, never removing one that a kept snapshot depends on.
 */
export async function scheduledSnapshot(req: ScheduledSnapshotRequest): Promise<ScheduledSnapshotResult> {
  const created = await snapshotCreate({ ...req, snapshotId: snapshotId(req.workload, Date.now(), uuid4()) });
  const records = await catalog.readCatalog();
  const { remove, keptForDependents } = retentionVictims(records, {
    series: req.series,
    keep: req.keep,
    maxAgeMs: req.maxAgeMs,
    nowMs: Date.now(),
  });
  const removed: string[] = [];
  for (const id of remove) {
    const record = records.find((r) => r.id === id);
    if (!record) continue;
    await bestEffort(
      `retention: remove snapshot ${id}`,
      removeSnapshot(record).then(() => removed.push(id)),
    );
  }
  return { created, removed, keptForDependents };
}
