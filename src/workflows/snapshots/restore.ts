import { CancellationScope, uuid4 } from '@temporalio/workflow';
import {
  snapshotId,
  type SnapshotRecord,
  type SnapshotRestoreRequest,
  type SnapshotRestoreResult,
} from '../../domain/snapshots.js';
import { bestEffort, hostSteps, type HostSteps } from '../host-steps.js';
import {
  chainOf,
  checkHost,
  checkId,
  checkWorkload,
  findSnapshot,
  outcomeOf,
  refuseBadInput,
} from './catalog-steps.js';
import { copyTo } from './copy.js';
import { takeSnapshot } from './create.js';

/** How long a restored workload must keep running before the restore counts as done. */
const VERIFY_WINDOW_MS = 1000;

/**
 * ferry restore ID --host H [--as NEW] [--replace] [--paused]. Everything that can refuse runs
 * before anything is stopped: the catalog's record, the target name on H, what H lacks, a copy
 * on H (copied there first) and its checksum. A revert keeps the current state as a snapshot
 * first and, when the restore fails, puts that back.
 */
export async function snapshotRestore(req: SnapshotRestoreRequest): Promise<SnapshotRestoreResult> {
  const started = Date.now();
  const notes: string[] = [];
  const result: SnapshotRestoreResult = {
    outcome: 'failed',
    id: req.snapshotId,
    workload: req.as ?? '',
    host: req.host,
    durationMs: 0,
    notes,
  };
  const done = (r: Partial<SnapshotRestoreResult>) => ({ ...result, ...r, durationMs: Date.now() - started });
  let stopped = false;
  try {
    refuseBadInput([
      checkId(req.snapshotId),
      checkHost(req.host),
      req.as !== undefined && checkWorkload(req.as),
    ]);
    let record = await findSnapshot(req.snapshotId);
    const target = req.as ?? record.workload;
    Object.assign(result, { workload: target, runtime: record.runtime });
    const host = hostSteps(req.host);
    const what = `${record.runtime}/${target}`;
    const { running } = await host.quick.checkRestoreTarget.executeWithOptions(
      { summary: `check that ${req.host} can take ${what} as asked${req.replace ? ' (revert)' : ''}` },
      [
        {
          snapshotId: record.id,
          runtime: record.runtime,
          target,
          replace: req.replace,
          image: record.image,
          imageId: record.imageId,
          pid: record.pid,
        },
      ],
    );
    let checkedOnArrival: string[] = [];
    if (!record.copies.includes(req.host)) {
      const copied = await copyTo(record, req.host);
      record = copied.record;
      result.copiedFrom = copied.from;
      checkedOnArrival = copied.checkedThere;
    }
    // It and every snapshot it builds on (incremental), before anything stops; a copy that just
    // arrived was checked there already.
    for (const s of await chainOf(record))
      if (!checkedOnArrival.includes(s.id))
        await host.long.verifySnapshot.executeWithOptions(
          { summary: `check snapshot ${s.id} on ${req.host} against its checksum (before anything stops)` },
          [{ snapshotId: s.id, checksum: s.checksum }],
        );
    // Nothing was stopped so far. A revert now keeps what runs, then stops it (and removes
    // a stopped container of that name: the request said to replace it).
    if (req.replace) {
      if (running && !req.discardCurrent) {
        const kept = await takeSnapshot({
          workload: target,
          runtime: record.runtime,
          host: req.host,
          criu: record.criu,
          note: `kept by the revert of ${target} to ${record.id}`,
          snapshotId: snapshotId(target, Date.now(), uuid4()),
        });
        result.keptSnapshot = kept.id;
      }
      await host.quick.stopReplaced.executeWithOptions(
        { summary: `stop ${what} on ${req.host} (reverted to ${record.id})` },
        [{ workload: target, runtime: record.runtime }],
      );
      stopped = running;
    }
    const restored = await restoreOn(host, record, target, req.paused);
    return done({ outcome: 'restored', ...restored });
  } catch (err) {
    const { refused, cause } = outcomeOf(err, req.host);
    if (stopped && result.keptSnapshot) {
      // The revert failed after the workload was stopped: bring back the state it had.
      const back = await CancellationScope.nonCancellable(async () => {
        try {
          const kept = await findSnapshot(result.keptSnapshot!);
          await restoreOn(hostSteps(req.host), kept, result.workload, false);
          return true;
        } catch {
          return false;
        }
      });
      notes.push(
        back
          ? `the revert failed; ${result.workload} runs again from ${result.keptSnapshot}, the state it had before`
          : `the revert failed and so did restoring ${result.keptSnapshot} (the state it had before): ferry restore ${result.keptSnapshot} --host ${req.host}`,
      );
    }
    return done({ outcome: refused && !stopped ? 'refused' : 'failed', cause });
  }
}

/** Stage, restore, verify, maybe pause; the restore's own folder goes in any case. */
async function restoreOn(
  host: HostSteps,
  record: SnapshotRecord,
  target: string,
  paused: boolean | undefined,
): Promise<Partial<SnapshotRestoreResult>> {
  const restoreId = `restore-${record.id}-${uuid4().slice(0, 8)}`;
  const what = `${record.runtime}/${target}`;
  const ref = { workload: target, runtime: record.runtime };
  try {
    await host.long.stageSnapshot.executeWithOptions(
      { summary: `lay out snapshot ${record.id} for ${what} on ${host.host}` },
      [{ snapshotId: record.id, restoreId, runtime: record.runtime, target }],
    );
    const r = await host.once.restore.executeWithOptions(
      { summary: `restore ${what} on ${host.host} from snapshot ${record.id}` },
      [{ ...ref, migrationId: restoreId, criu: record.criu, freshId: true }],
    );
    await host.once.verify.executeWithOptions(
      { summary: `verify ${what} keeps running on ${host.host} for ${VERIFY_WINDOW_MS} ms` },
      [{ ...ref, windowMs: VERIFY_WINDOW_MS }],
    );
    const pause = paused
      ? await host.quick.pauseWorkload.executeWithOptions({ summary: `pause ${what} on ${host.host}` }, [ref])
      : undefined;
    return {
      pid: r.pid,
      restoreMs: r.durationMs,
      ...(r.stats.restoreTimeUs !== undefined ? { criuRestoreMs: r.stats.restoreTimeUs / 1000 } : {}),
      paused: !!paused,
      resumeCommand: pause?.resumeCommand,
    };
  } catch (err) {
    // What a failed restore started under the name is ferry's own: it goes.
    await CancellationScope.nonCancellable(() =>
      bestEffort(`remove what the failed restore of ${what} left`, host.quick.removeWorkload(ref)),
    );
    throw err;
  } finally {
    await CancellationScope.nonCancellable(() =>
      bestEffort('remove the restore folder', host.cleanup.dropRestoreFolder({ restoreId })),
    );
  }
}
