import { uuid4 } from '@temporalio/workflow';
import {
  snapshotId,
  type SnapshotCreateRequest,
  type SnapshotCreateResult,
  type SnapshotRecord,
} from '../../domain/snapshots.js';
import { hostSteps } from '../host-steps.js';
import {
  catalog,
  checkHost,
  checkRuntime,
  checkWorkload,
  outcomeOf,
  refuseBadInput,
} from './catalog-steps.js';

/**
 * ferry snapshot create: checkpoint a workload into its host's store (it keeps running unless
 * req.stop) and record it in the catalog. Completes with an outcome; never fails the run.
 */
export async function snapshotCreate(req: SnapshotCreateRequest): Promise<SnapshotCreateResult> {
  const started = Date.now();
  const id = req.snapshotId ?? snapshotId(req.workload, started, uuid4());
  try {
    const snapshot = await takeSnapshot({ ...req, snapshotId: id });
    return {
      outcome: 'created',
      id,
      snapshot,
      frozenMs: snapshot.frozenMs,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const { refused, cause } = outcomeOf(err, req.host);
    return { outcome: refused ? 'refused' : 'failed', id, cause, durationMs: Date.now() - started };
  }
}

/** The steps of one snapshot (also the first step of a revert and of each scheduled run). */
export async function takeSnapshot(
  req: SnapshotCreateRequest & { snapshotId: string },
): Promise<SnapshotRecord> {
  refuseBadInput([checkWorkload(req.workload), checkRuntime(req.runtime), checkHost(req.host)]);
  const host = hostSteps(req.host);
  const what = `${req.runtime}/${req.workload}`;
  const { facts } = await host.quick.preflightSource.executeWithOptions(
    { summary: `preflight ${what} on ${req.host}: CRIU, runtime, it runs, nothing CRIU would refuse` },
    [{ workload: req.workload, runtime: req.runtime, checkpointable: req.criu ?? {} }],
  );
  // One attempt: each would freeze the workload again; what failed is the answer.
  const record = await host.once.createSnapshot.executeWithOptions(
    {
      summary: `snapshot ${what} on ${req.host} as ${req.snapshotId} (${req.stop ? 'then stopped' : 'it keeps running'})`,
    },
    [
      {
        snapshotId: req.snapshotId,
        workload: req.workload,
        runtime: req.runtime,
        stop: req.stop,
        criu: req.criu,
        series: req.series,
        note: req.note,
        facts,
      },
    ],
  );
  return catalog.recordSnapshot(record);
}
