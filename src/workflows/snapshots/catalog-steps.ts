// What every snapshot workflow shares: the catalog (through the control activities, on the
// shared queue), a record by id, validation, and failures as results.
import { proxyActivities } from '@temporalio/workflow';
import type { ControlActivities } from '../../activities/control.js';
import { ErrorType } from '../../domain/errors.js';
import { describeCause, ferryFailure } from '../../domain/failures.js';
import { checkName, isRuntimeName, RUNTIMES } from '../../domain/names.js';
import { checkSnapshotId, type SnapshotFailure, type SnapshotRecord } from '../../domain/snapshots.js';

export const catalog = proxyActivities<ControlActivities>({
  startToCloseTimeout: '1m',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [ErrorType.SnapshotHasDependents] },
});

/** The catalog's record of a snapshot; SnapshotNotFound naming the fix when there is none. */
export async function findSnapshot(id: string): Promise<SnapshotRecord> {
  const record = (await catalog.readCatalog()).find((s) => s.id === id);
  if (!record)
    throw ferryFailure(
      ErrorType.SnapshotNotFound,
      `no snapshot ${id} in the catalog: ferry snapshot ls lists them`,
    );
  return record;
}

/** The snapshot and those it depends on, itself first (a full snapshot: only itself). */
export async function chainOf(record: SnapshotRecord): Promise<SnapshotRecord[]> {
  const chain = [record];
  for (let r = record; r.parent;) {
    const parent = await findSnapshot(r.parent);
    chain.push(parent);
    r = parent;
  }
  return chain;
}

/** InvalidInput naming every problem of a request's names. */
export function refuseBadInput(problems: (string | undefined | false)[]): void {
  const found = problems.filter((p): p is string => typeof p === 'string');
  if (found.length) throw ferryFailure(ErrorType.InvalidInput, found.join('; '));
}

export const checkId = (id: unknown) => checkSnapshotId(id);
export const checkRuntime = (r: unknown) =>
  isRuntimeName(r) ? undefined : `runtime "${String(r)}" is not one of ${RUNTIMES.join(', ')}`;
export const checkHost = (h: unknown) => checkName('host', h);
export const checkWorkload = (w: unknown) => checkName('workload', w);

/** Failures that mean "refused, nothing changed" rather than "tried and failed". */
const REFUSALS: readonly string[] = [
  ErrorType.InvalidInput,
  ErrorType.SnapshotNotFound,
  ErrorType.SnapshotCorrupt,
  ErrorType.SnapshotHasDependents,
  ErrorType.WorkloadNotFound,
  ErrorType.WorkloadNotRunning,
  ErrorType.WorkloadAlreadyOnDestination,
  ErrorType.NameTakenOnDestination,
  ErrorType.RuntimeUnavailable,
  ErrorType.CriuUnavailable,
  ErrorType.ImageMissing,
  ErrorType.NotMovable,
  ErrorType.NotCheckpointable,
  ErrorType.UnknownHost,
];

/** The cause of a failure and whether it was a refusal. */
export function outcomeOf(err: unknown, host?: string): { refused: boolean; cause: SnapshotFailure } {
  const cause = describeCause(err, host);
  return { refused: REFUSALS.includes(cause.type), cause };
}
