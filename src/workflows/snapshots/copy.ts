import { ErrorType } from '../../domain/errors.js';
import { ferryFailure } from '../../domain/failures.js';
import type { SnapshotCopyResult, SnapshotRecord } from '../../domain/snapshots.js';
import { hostSteps } from '../host-steps.js';
import { catalog, checkHost, checkId, findSnapshot, outcomeOf, refuseBadInput } from './catalog-steps.js';

/** ferry snapshot copy ID --to HOST: one more host holds it, verified there. */
export async function snapshotCopy(req: { snapshotId: string; to: string }): Promise<SnapshotCopyResult> {
  const started = Date.now();
  try {
    refuseBadInput([checkId(req.snapshotId), checkHost(req.to)]);
    const record = await findSnapshot(req.snapshotId);
    const copied = await copyTo(record, req.to);
    return {
      outcome: 'copied',
      id: req.snapshotId,
      to: req.to,
      from: copied.from,
      bytesSent: copied.bytesSent,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const { refused, cause } = outcomeOf(err, req.to);
    return {
      outcome: refused ? 'refused' : 'failed',
      id: req.snapshotId,
      to: req.to,
      cause,
      durationMs: Date.now() - started,
    };
  }
}

/**
 * Makes sure `to` holds an intact copy: from the first host that has one (checked there first,
 * so that a damaged copy is not spread), then checked on arrival and recorded in the catalog.
 */
export async function copyTo(
  record: SnapshotRecord,
  to: string,
): Promise<{ from?: string; bytesSent: number; record: SnapshotRecord; checkedThere: string[] }> {
  if (record.copies.includes(to)) return { bytesSent: 0, record, checkedThere: [] };
  // An incremental snapshot is only whole with the ones it builds on: they go first.
  const parents = record.parent ? await copyTo(await findSnapshot(record.parent), to) : undefined;
  const from = record.copies[0];
  if (!from) throw ferryFailure(ErrorType.SnapshotNotFound, `snapshot ${record.id} has no copy on any host`);
  const src = hostSteps(from);
  const check = { snapshotId: record.id, checksum: record.checksum };
  await src.long.verifySnapshot.executeWithOptions(
    { summary: `check snapshot ${record.id} on ${from} against its checksum before copying it` },
    [check],
  );
  const { bytesSent } = await src.long.pushSnapshot.executeWithOptions(
    {
      summary: `copy snapshot ${record.id} (${Math.round(record.sizeBytes / 2 ** 20)} MiB) ${from} → ${to} (rsync over SSH)`,
    },
    [{ snapshotId: record.id, destination: to }],
  );
  await hostSteps(to).long.verifySnapshot.executeWithOptions(
    { summary: `check the copy of snapshot ${record.id} on ${to} against its checksum` },
    [check],
  );
  const updated = await catalog.recordSnapshotCopy({ id: record.id, host: to, present: true });
  return {
    from,
    bytesSent,
    record: updated ?? { ...record, copies: [...record.copies, to] },
    // What this copy checked on arrival: a restore there need not hash it again.
    checkedThere: [record.id, ...(parents?.checkedThere ?? [])],
  };
}
