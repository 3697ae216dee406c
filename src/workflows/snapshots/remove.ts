import { ErrorType } from '../../domain/errors.js';
import { ferryFailure } from '../../domain/failures.js';
import { dependentsOf, type SnapshotRecord, type SnapshotRemoveResult } from '../../domain/snapshots.js';
import { hostSteps } from '../host-steps.js';
import { catalog, checkHost, checkId, findSnapshot, outcomeOf, refuseBadInput } from './catalog-steps.js';

/**
 * ferry snapshot rm ID [--host H]: removes its copies (or the one on H) and, once none is left,
 * its catalog entry. Refused while another snapshot depends on it.
 */
export async function snapshotRemove(req: {
  snapshotId: string;
  host?: string;
}): Promise<SnapshotRemoveResult> {
  try {
    refuseBadInput([checkId(req.snapshotId), req.host !== undefined && checkHost(req.host)]);
    const record = await findSnapshot(req.snapshotId);
    const removedFrom = await removeSnapshot(record, req.host);
    return { outcome: 'removed', id: req.snapshotId, removedFrom };
  } catch (err) {
    const { refused, cause } = outcomeOf(err, req.host);
    return { outcome: refused ? 'refused' : 'failed', id: req.snapshotId, removedFrom: [], cause };
  }
}

/** Removes the copies on `only` (or all), each host's copy first, then the catalog's word for it. */
export async function removeSnapshot(record: SnapshotRecord, only?: string): Promise<string[]> {
  const hosts = only ? record.copies.filter((h) => h === only) : record.copies;
  if (only && !hosts.length)
    throw ferryFailure(
      ErrorType.SnapshotNotFound,
      `snapshot ${record.id} has no copy on ${only} (copies: ${record.copies.join(', ')})`,
    );
  const lastCopies = hosts.length === record.copies.length;
  if (lastCopies) {
    const dependents = dependentsOf(await catalog.readCatalog(), record.id);
    if (dependents.length)
      throw ferryFailure(
        ErrorType.SnapshotHasDependents,
        `snapshot ${record.id} cannot go: ${dependents.join(', ')} depend${dependents.length > 1 ? '' : 's'} on it; remove ${dependents.length > 1 ? 'those' : 'that one'} first`,
      );
  }
  for (const h of hosts) {
    await hostSteps(h).quick.removeSnapshotCopy.executeWithOptions(
      { summary: `remove the copy of snapshot ${record.id} on ${h}` },
      [{ snapshotId: record.id }],
    );
    await catalog.recordSnapshotCopy({ id: record.id, host: h, present: false });
  }
  return hosts;
}
