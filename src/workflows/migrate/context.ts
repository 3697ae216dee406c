// What every stage of one migration works with: the request, its ids, both hosts' steps, the
// runtime's capability record and the run's state.
import { CancellationScope, workflowInfo } from '@temporalio/workflow';
import type { MigrationStepInput, WorkloadRef } from '../../activities/inputs.js';
import type { RuntimeCapabilities } from '../../domain/capabilities.js';
import type { MigrateRequest } from '../../domain/types.js';
import { capabilitiesOf } from '../../runtimes/capabilities.js';
import { hostSteps, type HostSteps } from '../host-steps.js';
import { MigrationRun } from './run-state.js';

export interface Migration {
  readonly req: MigrateRequest;
  /** Unique per run, safe as a folder name: images of two attempts never mix. */
  readonly id: string;
  readonly workflowId: string;
  /** "runtime/workload", for summaries. */
  readonly what: string;
  readonly ref: WorkloadRef;
  /** The input every migration step on either host starts from. */
  readonly step: MigrationStepInput;
  readonly src: HostSteps;
  readonly dst: HostSteps;
  readonly caps: RuntimeCapabilities;
  readonly run: MigrationRun;
}

export function newMigration(req: MigrateRequest): Migration {
  const info = workflowInfo();
  const id = `${info.workflowId}-${info.runId.slice(0, 8)}`;
  const ref = { workload: req.workload, runtime: req.runtime };
  const src = hostSteps(req.source);
  const dst = hostSteps(req.destination);
  // Brief: a host that does not answer within seconds must not hold the ending up.
  const record = (steps: typeof src) => () =>
    steps.brief.migrationRecord.executeWithOptions(
      { summary: `read what ${steps.host} recorded about migration ${id} (freezes, CRIU logs)` },
      [{ migrationId: id }],
    );
  return {
    req,
    id,
    workflowId: info.workflowId,
    what: `${req.runtime}/${req.workload}`,
    ref,
    step: { ...ref, migrationId: id, criu: { tcpEstablished: req.tcpEstablished, fileLocks: req.fileLocks } },
    src,
    dst,
    caps: capabilitiesOf(req.runtime),
    run: new MigrationRun(req, id, { source: record(src), destination: record(dst) }),
  };
}

/** Compensation and cleanup run to their end even when the workflow itself is being cancelled. */
export const nonCancellable = <T>(fn: () => Promise<T>): Promise<T> => CancellationScope.nonCancellable(fn);
