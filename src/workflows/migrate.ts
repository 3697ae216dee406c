import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { HostActivities } from '../activities/index.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import { hostTaskQueue } from '../domain/names.js';
import type {
  CheckpointResult,
  MigrateRequest,
  MigrationProgress,
  MigrationResult,
  Outcome,
  Phase,
  PhaseTiming,
  RestoreResult,
} from '../domain/types.js';
import { validateMigrateRequest } from '../domain/validation.js';
import { progressQuery } from './definitions.js';
import { SA } from './search-attributes.js';

const DEFAULT_VERIFY_WINDOW_MS = 2_000;

const retry = (maximumAttempts: number): ActivityOptions['retry'] => ({
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '20s',
  maximumAttempts,
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
});

// A host whose worker is down has no poller: scheduleToStart turns that into a clear failure
// instead of a migration that waits forever.
const quick: ActivityOptions = {
  startToCloseTimeout: '2m',
  scheduleToStartTimeout: '1m',
  retry: retry(3),
};
const long: ActivityOptions = {
  startToCloseTimeout: '60m',
  scheduleToStartTimeout: '2m',
  heartbeatTimeout: '30s',
  retry: retry(5),
};

function hostActivities(host: string) {
  const taskQueue = hostTaskQueue(host);
  return {
    quick: proxyActivities<HostActivities>({ ...quick, taskQueue }),
    long: proxyActivities<HostActivities>({ ...long, taskQueue }),
  };
}

/** Moves one workload from source to destination; see docs/architecture.md for the steps. */
export async function migrate(req: MigrateRequest): Promise<MigrationResult> {
  const problems = validateMigrateRequest(req);
  if (problems.length) throw ApplicationFailure.nonRetryable(problems.join('; '), ErrorType.InvalidInput);

  const info = workflowInfo();
  // Unique per run, safe as a folder name: images of two attempts never mix.
  const migrationId = `${info.workflowId}-${info.runId.slice(0, 8)}`;
  const ref = { workload: req.workload, runtime: req.runtime };
  const step = { ...ref, migrationId };
  const what = `${req.runtime}/${req.workload}`;
  const src = hostActivities(req.source);
  const dst = hostActivities(req.destination);
  const startedAt = Date.now();

  const progress: MigrationProgress = {
    phase: 'validating',
    workload: req.workload,
    runtime: req.runtime,
    source: req.source,
    destination: req.destination,
    phases: [],
    bytesTransferred: 0,
  };
  setHandler(progressQuery, () => progress);
  const result: MigrationResult = {
    migrationId,
    workload: req.workload,
    runtime: req.runtime,
    source: req.source,
    destination: req.destination,
    outcome: 'failed-before-freeze',
    totalMs: 0,
    bytesTransferred: 0,
    phases: progress.phases,
    criu: {},
    criuVersions: {},
  };
  upsertSearchAttributes([
    { key: SA.workload, value: req.workload },
    { key: SA.runtime, value: req.runtime },
    { key: SA.source, value: req.source },
    { key: SA.destination, value: req.destination },
  ]);

  async function phase<T>(name: Phase, work: () => Promise<T>): Promise<T> {
    progress.phase = name;
    upsertSearchAttributes([{ key: SA.phase, value: name }]);
    setCurrentDetails(details());
    const timing: PhaseTiming = { phase: name, startedAtMs: Date.now(), durationMs: 0 };
    progress.phases.push(timing);
    try {
      return await work();
    } finally {
      timing.durationMs = Date.now() - timing.startedAtMs;
    }
  }

  function details(): string {
    const rows = progress.phases.map((p) => `| ${p.phase} | ${p.durationMs} ms |`).join('\n');
    return `**${what}**: ${req.source} → ${req.destination}, phase **${progress.phase}**${
      progress.rollback ? `\n\nRollback: ${progress.rollback}` : ''
    }\n\n| phase | took |\n|---|---|\n${rows}`;
  }

  function finish(outcome: Outcome, cause?: unknown): MigrationResult {
    result.outcome = outcome;
    if (cause !== undefined) result.cause = describeCause(cause);
    result.totalMs = Date.now() - startedAt;
    result.bytesTransferred = progress.bytesTransferred;
    progress.phase = outcome === 'migrated' ? 'done' : 'failed';
    upsertSearchAttributes([
      { key: SA.phase, value: progress.phase },
      { key: SA.outcome, value: outcome },
    ]);
    setCurrentDetails(
      details() + (result.cause ? `\n\nCause: ${result.cause.type}: ${result.cause.message}` : ''),
    );
    return result;
  }

  // 1. Preflight on both hosts at once. Nothing has changed anywhere yet.
  try {
    await phase('preflight', async () => {
      const [source, destination] = await Promise.all([
        src.quick.preflightSource.executeWithOptions(
          {
            ...quick,
            taskQueue: hostTaskQueue(req.source),
            summary: `preflight ${what} on ${req.source} (source)`,
          },
          [ref],
        ),
        dst.quick.preflightDestination.executeWithOptions(
          {
            ...quick,
            taskQueue: hostTaskQueue(req.destination),
            summary: `preflight ${what} on ${req.destination} (destination)`,
          },
          [{ ...step, neededBytes: 0 }],
        ),
      ]);
      result.criuVersions = { source: source.facts.criuVersion, destination: destination.criuVersion };
      const needed = Math.ceil((source.workload.rssBytes ?? 0) * 1.2) + 64 * 1024 * 1024;
      if (destination.freeBytes < needed)
        throw ApplicationFailure.nonRetryable(
          `${req.destination} has ${mib(destination.freeBytes)} MiB free, ${what} needs about ${mib(needed)} MiB for its images`,
          ErrorType.InsufficientSpace,
        );
      if (source.facts.kernel !== destination.kernel)
        log.warn('source and destination kernels differ', {
          source: source.facts.kernel,
          destination: destination.kernel,
        });
    });
    // 2. Copy the bundle/rootfs while the workload still runs: the final sync sends only changes.
    await phase('presync', () =>
      src.long.presync
        .executeWithOptions(
          {
            ...long,
            taskQueue: hostTaskQueue(req.source),
            summary: `pre-copy files of ${what}: ${req.source} → ${req.destination}`,
          },
          [{ ...step, destination: req.destination }],
        )
        .then((r) => {
          progress.bytesTransferred += r.bytesSent;
        }),
    );
  } catch (err) {
    // The destination preflight may have created the migration's folder even when the source
    // preflight failed: always clean up there.
    await cleanupDestinationBeforeFreeze();
    return finish('failed-before-freeze', err);
  }

  // 3. Final dump: the workload freezes; downtime starts.
  let checkpoint: CheckpointResult;
  try {
    checkpoint = await phase('checkpoint', () =>
      src.long.checkpoint.executeWithOptions(
        {
          ...long,
          taskQueue: hostTaskQueue(req.source),
          summary: `checkpoint ${what} on ${req.source} (final dump)`,
        },
        [step],
      ),
    );
    result.criu.dump = checkpoint.stats;
    result.imageBytes = checkpoint.imageBytes;
  } catch (err) {
    // CRIU and runc resume the workload when a dump fails; make sure it really runs.
    const stillRuns = await src.quick.preflightSource(ref).then(
      () => true,
      () => false,
    );
    await cleanupDestinationBeforeFreeze();
    if (stillRuns) {
      await src.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
      return finish('failed-before-freeze', err);
    }
    // The dump may have completed before the step failed: try the local checkpoint.
    return finish(await phase('rollback', restoreSource), err);
  }

  // 4-6. Transfer, restore, verify. Any failure from here on rolls back to the source.
  let restored: RestoreResult;
  let restoreMayHaveRun = false;
  try {
    await phase('transfer', () =>
      src.long.transfer
        .executeWithOptions(
          {
            ...long,
            taskQueue: hostTaskQueue(req.source),
            summary: `transfer ${mib(checkpoint.imageBytes)} MiB of images of ${what}: ${req.source} → ${req.destination} (rsync over SSH)`,
          },
          [{ ...step, destination: req.destination }],
        )
        .then((r) => {
          progress.bytesTransferred += r.bytesSent;
        }),
    );
    restoreMayHaveRun = true;
    restored = await phase('restore', () =>
      dst.long.restore.executeWithOptions(
        {
          ...long,
          taskQueue: hostTaskQueue(req.destination),
          summary: `restore ${what} on ${req.destination}`,
        },
        [step],
      ),
    );
    result.criu.restore = restored.stats;
    result.downtimeMs = restored.runningAtMs - checkpoint.frozenAtMs;
    const windowMs = req.verifyWindowMs ?? DEFAULT_VERIFY_WINDOW_MS;
    await phase('verify', () =>
      dst.long.verify.executeWithOptions(
        {
          ...long,
          taskQueue: hostTaskQueue(req.destination),
          startToCloseTimeout: windowMs + 120_000,
          retry: retry(1),
          summary: `verify ${what} keeps running on ${req.destination} for ${windowMs} ms`,
        },
        [{ ...ref, windowMs }],
      ),
    );
  } catch (err) {
    if (restoreMayHaveRun && neverStarted(err)) restoreMayHaveRun = false; // no worker ever took it
    return finish(await rollBack(err, restoreMayHaveRun), err);
  }

  // 7. Success: the source copy and the images go.
  await phase('cleanup', async () => {
    await Promise.all([
      src.quick.cleanupMigration.executeWithOptions(
        {
          ...quick,
          taskQueue: hostTaskQueue(req.source),
          retry: retry(10),
          summary: `remove ${what} and its images from ${req.source}`,
        },
        [{ ...step, removeWorkloadFiles: true, keepImages: req.keepImages ?? false }],
      ),
      dst.quick.cleanupMigration.executeWithOptions(
        {
          ...quick,
          taskQueue: hostTaskQueue(req.destination),
          retry: retry(10),
          summary: `remove images of ${what} from ${req.destination}`,
        },
        [{ ...step, removeWorkloadFiles: false, keepImages: req.keepImages ?? false }],
      ),
    ]).catch((err) =>
      log.warn('cleanup after a successful migration failed; files remain', { error: String(err) }),
    );
  });
  return finish('migrated');

  async function cleanupDestinationBeforeFreeze(): Promise<void> {
    // Only what this migration put there: the preflight refused if a copy was running.
    await dst.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
    if (progress.phases.some((p) => p.phase === 'presync'))
      await dst.quick.removeWorkload(ref).catch(() => undefined);
  }

  /** After the freeze: no copy on the destination, then the source back from its checkpoint. */
  async function rollBack(cause: unknown, restoreMayHaveRun: boolean): Promise<Outcome> {
    return phase('rollback', async () => {
      progress.rollback = `removing any copy on ${req.destination}`;
      setCurrentDetails(details());
      try {
        await dst.quick.removeWorkload.executeWithOptions(
          {
            ...quick,
            taskQueue: hostTaskQueue(req.destination),
            retry: retry(5),
            summary: `rollback: remove any copy of ${what} on ${req.destination}`,
          },
          [ref],
        );
        await dst.quick.removeMigrationFiles({ migrationId });
      } catch (err) {
        // Never two copies: restart the source only if the destination cannot have one.
        if (restoreMayHaveRun) {
          progress.rollback = `cannot confirm that ${req.destination} runs no copy (${describeCause(err).message}); the source is left stopped to avoid two copies`;
          log.error('rollback blocked: destination unreachable after restore may have run', {
            cause: String(cause),
          });
          return 'failed-needs-operator';
        }
      }
      return restoreSource();
    });
  }

  /** Puts the source back from its local checkpoint; only once no destination copy can run. */
  async function restoreSource(): Promise<Outcome> {
    {
      progress.rollback = `restoring ${what} on ${req.source} from its local checkpoint`;
      setCurrentDetails(details());
      try {
        await src.long.restore.executeWithOptions(
          {
            ...long,
            taskQueue: hostTaskQueue(req.source),
            summary: `rollback: restore ${what} on ${req.source} from its checkpoint`,
          },
          [step],
        );
        await src.long.verify.executeWithOptions(
          {
            ...long,
            taskQueue: hostTaskQueue(req.source),
            retry: retry(1),
            summary: `rollback: verify ${what} runs on ${req.source}`,
          },
          [{ ...ref, windowMs: DEFAULT_VERIFY_WINDOW_MS }],
        );
      } catch (err) {
        progress.rollback = `restoring ${req.source} from its checkpoint failed (${describeCause(err).message}); images kept in ${req.source}'s migrations/${migrationId}: restore by hand (docs/failure-handling.md)`;
        log.error('rollback failed', { error: String(err) });
        return 'failed-needs-operator';
      }
      progress.rollback = `${what} runs again on ${req.source}`;
      await src.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
      return 'rolled-back';
    }
  }
}

function neverStarted(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

export function describeCause(err: unknown): { type: string; message: string } {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return { type: e.type ?? 'Error', message: e.message };
  if (e instanceof TimeoutFailure)
    return {
      type: ErrorType.HostUnavailable,
      message: `activity timed out (${e.timeoutType}): is the host's worker running?`,
    };
  if (e instanceof Error) return { type: e.name, message: e.message };
  return { type: 'Error', message: String(e) };
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
