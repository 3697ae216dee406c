import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  startChild,
  sleep,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { HostActivities } from '../activities/index.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import { hostTaskQueue } from '../domain/names.js';
import { DEFAULT_VERIFY_WINDOW_MS } from '../domain/types.js';
import type {
  CheckpointResult,
  LazyDumpResult,
  MigrateRequest,
  MigrationProgress,
  MigrationResult,
  Outcome,
  Phase,
  PhaseTiming,
} from '../domain/types.js';
import { validateMigrateRequest } from '../domain/validation.js';
import { imageSpaceNeeded } from '../domain/placement.js';
import { chooseMode, type MigrationMode } from '../domain/modes.js';
import { capabilitiesOf } from '../runtimes/capabilities.js';
import { progressQuery, resolveSignal } from './definitions.js';
import { cleanupLeftovers } from './cleanup-leftovers.js';
import { SA } from './search-attributes.js';
import { precopyBeforeFreeze } from './precopy-step.js';
import { precopyTable, type PrecopySummary } from '../domain/precopy.js';
import { recordMigrationMetrics } from './metrics.js';

/** maximumAttempts undefined: retry for as long as it takes (fencing). */
const retry = (maximumAttempts: number | undefined): ActivityOptions['retry'] => ({
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '20s',
  ...(maximumAttempts === undefined ? {} : { maximumAttempts }),
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
});

// A host whose worker is down has no poller: scheduleToStart turns that into a clear failure
// (and proves the step never started there) instead of a migration that waits forever.
const quick: ActivityOptions = {
  startToCloseTimeout: '2m',
  scheduleToStartTimeout: '30s',
  retry: retry(3),
};
// Long steps heartbeat every 2 s: a killed worker is noticed in 10 s and the step retried.
// WAIT_CANCELLATION_COMPLETED: on cancel, know whether a dump or restore really happened.
const long: ActivityOptions = {
  startToCloseTimeout: '60m',
  scheduleToStartTimeout: '30s',
  heartbeatTimeout: '10s',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: retry(5),
};

function hostActivities(host: string) {
  const taskQueue = hostTaskQueue(host);
  return {
    taskQueue,
    quick: proxyActivities<HostActivities>({ ...quick, taskQueue }),
    long: proxyActivities<HostActivities>({ ...long, taskQueue }),
  };
}

/**
 * Moves one workload from source to destination (docs/architecture.md), and when anything fails
 * after the freeze puts it back on the source (docs/failure-handling.md): never two running
 * copies, never zero without saying so.
 */
export async function migrate(req: MigrateRequest): Promise<MigrationResult> {
  const problems = validateMigrateRequest(req, capabilitiesOf);
  if (problems.length) throw ApplicationFailure.nonRetryable(problems.join('; '), ErrorType.InvalidInput);

  const info = workflowInfo();
  // Unique per run, safe as a folder name: images of two attempts never mix.
  const migrationId = `${info.workflowId}-${info.runId.slice(0, 8)}`;
  const ref = { workload: req.workload, runtime: req.runtime };
  const criu = { tcpEstablished: req.tcpEstablished, fileLocks: req.fileLocks };
  const step = { ...ref, migrationId, criu };
  const what = `${req.runtime}/${req.workload}`;
  const src = hostActivities(req.source);
  const dst = hostActivities(req.destination);
  const startedAt = Date.now();
  let destinationDeclaredDown = false;
  let mode = 'stop-and-copy' as MigrationMode;

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
  setHandler(resolveSignal, (s) => {
    if (s.destinationIsDown) {
      destinationDeclaredDown = true;
      log.warn('operator declared the destination down', { destination: req.destination });
    }
  });
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
    const timing: PhaseTiming = { phase: name, startedAtMs: Date.now(), durationMs: 0 };
    progress.phases.push(timing);
    setCurrentDetails(details());
    try {
      return await work();
    } finally {
      timing.durationMs = Date.now() - timing.startedAtMs;
      setCurrentDetails(details());
    }
  }

  // Figures only known once a step has run: one cell per phase in the details' progress table.
  const figures: Partial<Record<Phase, string>> = {};
  let memoryBytes: number | undefined;

  const rollbackNotes: string[] = [];
  function say(rollback: string): void {
    progress.rollback = rollback;
    rollbackNotes.push(rollback);
    setCurrentDetails(details());
  }

  /** The workflow's current details in the Temporal UI (Markdown): head, rollback steps, table. */
  function details(
    head = `Phase **${progress.phase}** · ${mib(progress.bytesTransferred)} MiB sent`,
  ): string {
    const rows = progress.phases
      .map(
        (p) =>
          `| ${p.phase} | ${p === progress.phases.at(-1) && p.phase === progress.phase && !p.durationMs ? 'running' : seconds(p.durationMs)} | ${figures[p.phase] ?? ''} |`,
      )
      .join('\n');
    const rollback = rollbackNotes.length
      ? `\n\n**Rollback**\n\n${rollbackNotes.map((n, i) => `${i + 1}. ${n}`).join('\n')}`
      : '';
    const rounds = result.precopy ? `\n\n**Pre-copy rounds**\n\n${precopyTable(result.precopy)}` : '';
    return `${head}${rollback}\n\n| phase | took | figures |\n|---|---|---|\n${rows}${rounds}`;
  }

  function finish(outcome: Outcome, cause?: unknown): MigrationResult {
    result.outcome = outcome;
    if (cause !== undefined) result.cause = describeCause(cause);
    if (rollbackNotes.length) result.rollback = rollbackNotes.join(' → ');
    result.totalMs = Date.now() - startedAt;
    result.bytesTransferred = progress.bytesTransferred;
    progress.phase = outcome === 'migrated' ? 'done' : 'failed';
    upsertSearchAttributes([
      { key: SA.phase, value: progress.phase },
      { key: SA.outcome, value: outcome },
    ]);
    setCurrentDetails(
      details(
        `**Outcome: ${outcome}**${result.downtimeMs !== undefined ? ` · downtime ${result.downtimeMs} ms` : ''} · total ${seconds(result.totalMs)} · ${mib(result.bytesTransferred)} MiB sent${
          result.cause ? `\n\nCause: ${result.cause.type}: ${result.cause.message}` : ''
        }`,
      ),
    );
    if (
      outcome === 'restarted-fresh' ||
      outcome === 'failed-needs-operator' ||
      outcome === 'failed-postcopy-lost'
    )
      log.error(`migration of ${what} ended ${outcome}`, {
        rollback: progress.rollback,
        cause: result.cause,
      });
    recordMigrationMetrics(result);
    log.info(`migration of ${what} ended ${outcome}`, {
      outcome,
      source: req.source,
      destination: req.destination,
      downtimeMs: result.downtimeMs,
      totalMs: result.totalMs,
      bytesTransferred: result.bytesTransferred,
      ...(result.cause ? { cause: result.cause.type } : {}),
    });
    return result;
  }

  // Compensation must run to its end even when the workflow itself is being cancelled.
  const nonCancellable = <T>(fn: () => Promise<T>) => CancellationScope.nonCancellable(fn);

  // 1-2. Preflight on both hosts at once, then pre-copy the workload's files (and, when asked,
  // its memory in rounds: docs/precopy.md). Nothing frozen.
  try {
    await phase('preflight', async () => {
      const [source, destination] = await Promise.all([
        src.quick.preflightSource.executeWithOptions(
          { ...quick, taskQueue: src.taskQueue, summary: `preflight ${what} on ${req.source} (source)` },
          [{ ...ref, mode: req.mode }],
        ),
        dst.quick.preflightDestination.executeWithOptions(
          {
            ...quick,
            taskQueue: dst.taskQueue,
            summary: `preflight ${what} on ${req.destination} (destination)`,
          },
          [{ ...step, mode: req.mode }],
        ),
      ]);
      result.criuVersions = { source: source.facts.criuVersion, destination: destination.criuVersion };
      memoryBytes = source.workload.rssBytes;
      figures.preflight = `${mib(memoryBytes ?? 0)} MiB resident, CRIU ${source.facts.criuVersion} → ${destination.criuVersion}`;
      // What the workload needs there (its image, bind-mounted paths) is known only now.
      const needs = source.workload.needs;
      if (needs && (needs.image || needs.hostPaths?.length))
        await dst.quick.checkDestinationFit.executeWithOptions(
          {
            ...quick,
            taskQueue: dst.taskQueue,
            summary: `check ${req.destination} has what ${what} needs${needs.image ? ` (image ${needs.image})` : ''}`,
          },
          [{ ...ref, needs }],
        );
      const needed = imageSpaceNeeded(source.workload.rssBytes ?? 0);
      if (destination.freeBytes < needed)
        throw ApplicationFailure.nonRetryable(
          `${req.destination} has ${mib(destination.freeBytes)} MiB free, ${what} needs about ${mib(needed)} MiB for its images`,
          ErrorType.InsufficientSpace,
        );
      const choice = chooseMode(req.mode ?? 'auto', {
        capabilities: capabilitiesOf(req.runtime),
        rssBytes: source.workload.rssBytes ?? 0,
        dirtyTracking: source.facts.dirtyTracking,
        dirtyTrackingReason: source.facts.dirtyTrackingReason,
        postcopyUnavailable:
          [source.facts.postcopyUnavailable, destination.postcopyUnavailable].filter(Boolean).join('; ') ||
          undefined,
      });
      if (!choice.ok) throw ApplicationFailure.nonRetryable(choice.reason, ErrorType.ModeUnavailable);
      mode = choice.mode;
      result.mode = mode;
      result.modeReason = choice.reason;
      if (source.facts.kernel !== destination.kernel)
        log.warn('source and destination kernels differ', {
          source: source.facts.kernel,
          destination: destination.kernel,
        });
    });
    await phase('presync', async () => {
      const r = await src.long.presync.executeWithOptions(
        {
          ...long,
          taskQueue: src.taskQueue,
          summary: `pre-copy files of ${what}: ${req.source} → ${req.destination}`,
        },
        [{ ...step, destination: req.destination }],
      );
      progress.bytesTransferred += r.bytesSent;
      figures.presync = `${mib(r.bytesSent)} MiB sent${rate(r.bytesSent, r.durationMs)}`;
    });
    if (mode === 'precopy') {
      const summary: PrecopySummary = { rounds: [] };
      result.precopy = summary;
      await phase('precopy', () =>
        precopyBeforeFreeze({
          req,
          migrationId,
          sourceTaskQueue: src.taskQueue,
          longOptions: long,
          summary,
          onRound: () => setCurrentDetails(details()),
          describe: describeCause,
        }),
      );
      progress.bytesTransferred += summary.rounds.reduce((sum, r) => sum + r.bytesSent, 0);
    }
  } catch (err) {
    // The destination preflight may have created the migration's folder even when the source
    // preflight failed: always clean up there.
    await nonCancellable(cleanupDestinationBeforeFreeze);
    return finish(isCancellation(err) ? 'cancelled' : 'failed-before-freeze', err);
  }

  if (mode === 'postcopy') return runPostcopy();

  // 3. Final dump: the workload freezes; downtime starts.
  let checkpoint: CheckpointResult;
  try {
    checkpoint = await phase('checkpoint', async () => {
      const parentRound = result.precopy?.finalParentRound;
      // Streamed: the pages go straight into a page server on the destination, which never
      // outlives this step (it also exits by itself after the dump).
      const pageServer =
        mode === 'streamed'
          ? await dst.quick.startPageServer.executeWithOptions(
              {
                ...quick,
                taskQueue: dst.taskQueue,
                summary: `start a CRIU page server on ${req.destination}`,
              },
              [step],
            )
          : undefined;
      if (pageServer) result.pageServer = pageServer;
      try {
        return await src.long.checkpoint.executeWithOptions(
          {
            ...long,
            taskQueue: src.taskQueue,
            summary: `checkpoint ${what} on ${req.source}: ${mib(memoryBytes ?? 0)} MiB of memory (final dump, the workload freezes${pageServer ? `; pages streamed to ${pageServer.address}:${pageServer.port}` : ''}${parentRound ? `; parent: pre-copy round ${parentRound}` : ''})`,
          },
          [{ ...step, pageServer, parentRound }],
        );
      } finally {
        if (pageServer) await nonCancellable(() => dst.quick.stopPageServer(step)).catch(() => undefined);
      }
    });
    result.criu.dump = checkpoint.stats;
    result.imageBytes = checkpoint.imageBytes;
    figures.checkpoint = `${mib(checkpoint.imageBytes)} MiB of images${
      checkpoint.stats.frozenTimeUs !== undefined
        ? `, CRIU froze it ${Math.round(checkpoint.stats.frozenTimeUs / 1000)} ms`
        : ''
    }`;
  } catch (err) {
    return nonCancellable(async () => {
      // CRIU and runc resume the workload when a dump fails; make sure it really runs.
      const stillRuns = await src.quick.preflightSource(ref).then(
        () => true,
        () => false,
      );
      if (!stillRuns) await bringPagesBack();
      await cleanupDestinationBeforeFreeze();
      if (stillRuns) {
        await src.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
        return finish(isCancellation(err) ? 'cancelled' : 'failed-before-freeze', err);
      }
      // The dump completed before the step failed (or was cancelled): the destination never
      // received anything, so the source comes back from its local checkpoint.
      return finish(await phase('rollback', restoreSource), err);
    });
  }

  // 4-6. Transfer, restore, verify. Any failure (or a cancel) from here on rolls back.
  let restoreMayHaveRun = false;
  try {
    await phase('transfer', async () => {
      const sent = await src.long.transfer.executeWithOptions(
        {
          ...long,
          taskQueue: src.taskQueue,
          summary: `transfer ${what}: ${mib(checkpoint.imageBytes)} MiB of images ${req.source} → ${req.destination} (rsync over SSH)`,
        },
        [{ ...step, destination: req.destination, pagesStreamed: mode === 'streamed' }],
      );
      progress.bytesTransferred += sent.bytesSent;
      figures.transfer = `${mib(sent.bytesSent)} MiB sent${rate(sent.bytesSent, sent.durationMs)}`;
    });
    // Attempts are made here rather than by the retry policy, to know for sure whether any of
    // them started on the destination (fencing depends on it).
    const restored = await phase('restore', async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const restored = await dst.long.restore.executeWithOptions(
            {
              ...long,
              taskQueue: dst.taskQueue,
              retry: { ...retry(1) },
              summary: `restore ${what} on ${req.destination}: ${mib(checkpoint.imageBytes)} MiB of images${attempt > 1 ? ` (attempt ${attempt})` : ''}`,
            },
            [step],
          );
          restoreMayHaveRun = true;
          return restored;
        } catch (err) {
          if (!neverStarted(err)) restoreMayHaveRun = true;
          // No worker took it: waiting again for a worker that is not there only delays the rollback.
          if (attempt >= RESTORE_ATTEMPTS || !retryable(err) || neverStarted(err)) throw err;
          await sleep(attempt * 1_000);
        }
      }
    });
    result.criu.restore = restored.stats;
    result.downtimeMs = restored.runningAtMs - checkpoint.frozenAtMs;
    figures.restore = `running again after ${result.downtimeMs} ms of downtime`;
    await verifyOnDestination();
  } catch (err) {
    return nonCancellable(async () => finish(await rollBack(restoreMayHaveRun), err));
  }

  // 7. Success: the source copy and the images go. A cancel that arrives now is too late to
  // matter; the cleanup still runs to its end.
  await cleanUpAfterSuccess();
  return finish('migrated');

  /** The restored workload keeps running, with the same pid, for the verify window. */
  async function verifyOnDestination(): Promise<void> {
    const windowMs = req.verifyWindowMs ?? DEFAULT_VERIFY_WINDOW_MS;
    await phase('verify', () =>
      dst.long.verify.executeWithOptions(
        {
          ...long,
          taskQueue: dst.taskQueue,
          startToCloseTimeout: windowMs + 120_000,
          retry: retry(1),
          summary: `verify ${what} keeps running on ${req.destination} for ${windowMs} ms`,
        },
        [{ ...ref, windowMs }],
      ),
    );
    figures.verify = `kept running for ${windowMs} ms`;
  }

  async function cleanUpAfterSuccess(): Promise<void> {
    await nonCancellable(() =>
      phase('cleanup', async () => {
        await Promise.all([
          src.quick.cleanupMigration.executeWithOptions(
            {
              ...quick,
              taskQueue: src.taskQueue,
              retry: retry(10),
              summary: `remove ${what} and its images from ${req.source}`,
            },
            [{ ...step, removeWorkloadFiles: true, keepImages: req.keepImages ?? false }],
          ),
          dst.quick.cleanupMigration.executeWithOptions(
            {
              ...quick,
              taskQueue: dst.taskQueue,
              retry: retry(10),
              summary: `remove images of ${what} from ${req.destination}`,
            },
            [{ ...step, removeWorkloadFiles: false, keepImages: req.keepImages ?? false }],
          ),
        ]).catch((err) =>
          log.warn('cleanup after a successful migration failed; files remain', { error: String(err) }),
        );
      }),
    );
  }

  /**
   * Post-copy (docs/migration-modes.md): lazy dump on the source, the small images over rsync,
   * lazy restore on the destination, then the pages follow on demand until the source is
   * released. Once the destination has started the workload, a failure loses it on both hosts.
   */
  async function runPostcopy(): Promise<MigrationResult> {
    let lazy: LazyDumpResult;
    try {
      lazy = await phase('checkpoint', () =>
        src.long.startLazyDump.executeWithOptions(
          {
            ...long,
            taskQueue: src.taskQueue,
            summary: `lazy dump of ${what} on ${req.source}: frozen, memory served from there`,
          },
          [step],
        ),
      );
    } catch (err) {
      return nonCancellable(async () => {
        // CRIU resumes the workload when a dump fails or is ended; make sure it really runs.
        const { sourceRuns } = await src.quick.abortLazyDump(step).catch(() => ({ sourceRuns: false }));
        await cleanupDestinationBeforeFreeze();
        if (!sourceRuns) {
          say(`${what} does not run on ${req.source} after its lazy dump failed. ${operatorHelp()}`);
          return finish('failed-needs-operator', err);
        }
        await src.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
        return finish(isCancellation(err) ? 'cancelled' : 'failed-before-freeze', err);
      });
    }
    result.pageServer = lazy.lazyServer;
    result.imageBytes = lazy.imageBytes;
    let restoreStarted = false;
    try {
      await phase('transfer', async () => {
        const sent = await src.long.transfer.executeWithOptions(
          {
            ...long,
            taskQueue: src.taskQueue,
            summary: `transfer ${mib(lazy.imageBytes)} MiB of images of ${what} (no memory): ${req.source} → ${req.destination}`,
          },
          [{ ...step, destination: req.destination }],
        );
        progress.bytesTransferred += sent.bytesSent;
      });
      // One attempt: a lazy restore that reached the source cannot be repeated.
      const restored = await phase('restore', () =>
        dst.long.restore
          .executeWithOptions(
            {
              ...long,
              taskQueue: dst.taskQueue,
              retry: retry(1),
              summary: `lazy restore of ${what} on ${req.destination}, memory fetched from ${lazy.lazyServer.address}:${lazy.lazyServer.port}`,
            },
            [{ ...step, lazyPagesFrom: lazy.lazyServer }],
          )
          .catch((err: unknown) => {
            if (!neverStarted(err)) restoreStarted = true;
            throw err;
          }),
      );
      restoreStarted = true;
      result.criu.restore = restored.stats;
      result.downtimeMs = restored.runningAtMs - lazy.frozenAtMs;
      // Not cancellable: stopping half-way would lose the workload.
      const served = await phase('postcopy', () =>
        nonCancellable(() =>
          src.long.awaitLazyDump.executeWithOptions(
            {
              ...long,
              taskQueue: src.taskQueue,
              summary: `serve the memory of ${what} from ${req.source} until ${req.destination} has all of it`,
            },
            [step],
          ),
        ),
      );
      result.postcopyMs = served.servedForMs;
      await verifyOnDestination();
    } catch (err) {
      return nonCancellable(async () => finish(await postcopyRollBack(restoreStarted), err));
    }
    await cleanUpAfterSuccess();
    return finish('migrated');
  }

  /**
   * A post-copy failure after the freeze. Whether the workload survives is decided by CRIU on
   * the source: it resumes the frozen copy when the page transfer fails before the end, and
   * releases it once every page has moved. After the destination started it, a failure that
   * left the source released (or unreachable) has lost it on both hosts.
   */
  async function postcopyRollBack(restoreStarted: boolean): Promise<Outcome> {
    return phase('rollback', async () => {
      say(`removing any copy of ${what} on ${req.destination}`);
      const removed = await dst.quick.removeWorkload(ref).then(
        () => true,
        () => false,
      );
      if (removed) await dst.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
      else await cleanUpDestinationLater();
      const { sourceRuns } = await src.quick.abortLazyDump(step).catch(() => ({ sourceRuns: false }));
      await src.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
      if (sourceRuns) {
        // A copy left on the destination cannot run on: its memory was never complete.
        say(`the page transfer ended before ${req.source} was released: ${what} runs there again`);
        return 'rolled-back';
      }
      if (restoreStarted) {
        say(
          `post-copy failed after ${req.destination} had started ${what}: its memory was split between the hosts and it is LOST on both (the request accepted this risk)`,
        );
        return 'failed-postcopy-lost';
      }
      say(`${what} does not run on ${req.source} after its lazy dump was ended. ${operatorHelp()}`);
      return 'failed-needs-operator';
    });
  }

  async function cleanupDestinationBeforeFreeze(): Promise<void> {
    // Only what this migration put there: the preflight refused if a copy was running.
    await dst.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
    if (progress.phases.some((p) => p.phase === 'presync'))
      await dst.quick.removeWorkload(ref).catch(() => undefined);
  }

  /** Streamed mode: the source's checkpoint has no pages (they went to the destination). */
  async function bringPagesBack(): Promise<void> {
    if (mode !== 'streamed') return;
    say(`bringing the streamed memory pages of ${what} back from ${req.destination}`);
    await dst.long.returnImages
      .executeWithOptions(
        {
          ...long,
          taskQueue: dst.taskQueue,
          summary: `rollback: return the streamed pages of ${what} to ${req.source}`,
        },
        [{ ...step, destination: req.source }],
      )
      .catch((err) =>
        say(
          `the pages of ${what} could not be brought back from ${req.destination}: ${describeCause(err).message}`,
        ),
      );
  }

  /** After the freeze: first make sure no copy runs on the destination, then the source. */
  async function rollBack(restoreMayHaveRun: boolean): Promise<Outcome> {
    return phase('rollback', async () => {
      say(`removing any copy of ${what} on ${req.destination}`);
      const removal = () =>
        dst.quick.removeWorkload.executeWithOptions(
          {
            ...quick,
            taskQueue: dst.taskQueue,
            // Fencing: when a copy may run there, wait for the host as long as it takes.
            scheduleToStartTimeout: restoreMayHaveRun ? '3650d' : '10s',
            retry: { ...retry(restoreMayHaveRun ? undefined : 5), maximumInterval: '30s' },
            summary: `rollback: remove any copy of ${what} on ${req.destination}`,
          },
          [ref],
        );
      if (restoreMayHaveRun) {
        const fenced = await waitForDestinationOrOperator(removal);
        if (!fenced) return 'failed-needs-operator';
        await bringPagesBack();
        await dst.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
      } else {
        // The restore never started there: no copy can exist. Clean up if the host answers.
        const answered = await removal().then(
          () => true,
          () => false,
        );
        if (answered) {
          await bringPagesBack();
          await dst.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
        } else {
          say(
            `${req.destination} did not answer (no copy can run there: its restore never started); what the migration left there is removed when it is back (workflow cleanup-${migrationId})`,
          );
          await cleanUpDestinationLater();
        }
      }
      return restoreSource();
    });
  }

  /**
   * Resolves true once the destination confirmed it runs no copy, or an operator declared it
   * down (`ferry resolve ID --destination-is-down`). Meanwhile the source stays stopped.
   */
  async function waitForDestinationOrOperator(removal: () => Promise<void>): Promise<boolean> {
    say(
      `waiting for ${req.destination} to confirm that no copy of ${what} runs there before restarting it on ${req.source}. ` +
        `If ${req.destination} is down for good, run: ferry resolve ${info.workflowId} --destination-is-down`,
    );
    let removalFailed: unknown;
    const scope = new CancellationScope();
    const removed = scope
      .run(removal)
      .then(() => true)
      .catch((err) => {
        if (!isCancellation(err)) removalFailed = err;
        return false;
      });
    let done = false;
    void removed.then(() => (done = true));
    await condition(() => done || destinationDeclaredDown);
    if (done && (await removed)) return true;
    if (destinationDeclaredDown) {
      scope.cancel();
      say(
        `the operator declared ${req.destination} down; restarting ${what} on ${req.source} without its confirmation (any copy there is removed when it is back: workflow cleanup-${migrationId})`,
      );
      await cleanUpDestinationLater();
      return true;
    }
    say(
      `${req.destination} failed to remove its copy of ${what} (${describeCause(removalFailed).message}); ` +
        `the source stays stopped to avoid two copies. Remove it there, then run: ferry resolve ${info.workflowId} --destination-is-down`,
    );
    await condition(() => destinationDeclaredDown);
    return true;
  }

  /** An abandoned child waits for the destination's worker to return, then removes the leftovers. */
  async function cleanUpDestinationLater(): Promise<void> {
    await startChild(cleanupLeftovers, {
      workflowId: `cleanup-${migrationId}`,
      args: [{ host: req.destination, workload: req.workload, runtime: req.runtime, migrationId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `remove what migration ${migrationId} left on ${req.destination} once it is back`,
    });
  }

  /** Puts the source back from its local checkpoint; the last resort is a fresh start. */
  async function restoreSource(): Promise<Outcome> {
    say(`restoring ${what} on ${req.source} from its local checkpoint`);
    try {
      await src.long.restore.executeWithOptions(
        {
          ...long,
          taskQueue: src.taskQueue,
          summary: `rollback: restore ${what} on ${req.source} from its checkpoint`,
        },
        [step],
      );
      await verifySource();
    } catch (err) {
      const why = describeCause(err).message;
      if (req.allowStartFresh) {
        say(
          `restoring the checkpoint on ${req.source} failed (${why}); STARTING ${what} FRESH: its in-memory state is LOST`,
        );
        try {
          await src.long.startFresh.executeWithOptions(
            {
              ...long,
              taskQueue: src.taskQueue,
              summary: `rollback: start ${what} fresh on ${req.source} (state lost)`,
            },
            [ref],
          );
          await verifySource();
          await src.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
          return 'restarted-fresh';
        } catch (freshErr) {
          say(
            `starting ${what} fresh on ${req.source} failed too (${describeCause(freshErr).message}); ${operatorHelp()}`,
          );
          return 'failed-needs-operator';
        }
      }
      say(`restoring the checkpoint on ${req.source} failed (${why}); ${what} is stopped. ${operatorHelp()}`);
      return 'failed-needs-operator';
    }
    say(`${what} runs again on ${req.source} from its checkpoint`);
    await src.quick.removeMigrationFiles({ migrationId }).catch(() => undefined);
    return 'rolled-back';
  }

  async function verifySource(): Promise<void> {
    await src.long.verify.executeWithOptions(
      {
        ...long,
        taskQueue: src.taskQueue,
        retry: retry(1),
        summary: `rollback: verify ${what} runs on ${req.source}`,
      },
      [{ ...ref, windowMs: DEFAULT_VERIFY_WINDOW_MS }],
    );
  }

  function operatorHelp(): string {
    const images = `STATE/migrations/${migrationId}/images on ${req.source}`;
    const dir = `STATE/migrations/${migrationId}/images`;
    const cmd = {
      runc: `runc --root STATE/runc restore -d --image-path ${dir} -b STATE/workloads/runc/${req.workload}/bundle ${req.workload}`,
      process: `criu restore -D ${dir} -d`,
      podman: `podman container restore --import ${dir}/podman-checkpoint.tar`,
      docker: `docker create (the same container, see ${dir}/docker-container.json), copy ${dir}/ferry into its checkpoints folder and ${dir}/rootfs-diff.tar into its upper dir, then docker start --checkpoint ferry ${req.workload}`,
    }[req.runtime];
    return `The images are kept in ${images} (STATE = its stateDir). To restore by hand there: ${cmd}; or start it fresh. See docs/failure-handling.md.`;
  }
}

const RESTORE_ATTEMPTS = 3;

/** Worth another attempt: not a cancel, not a type the retry policy gives up on. */
function retryable(err: unknown): boolean {
  if (isCancellation(err)) return false;
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure)
    return !cause.nonRetryable && !NON_RETRYABLE_ERROR_TYPES.includes(cause.type as never);
  return true;
}

/** The activity timed out waiting for a worker: it never started on that host. */
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
  if (isCancellation(e)) return { type: 'Cancelled', message: 'the migration was cancelled' };
  if (e instanceof ApplicationFailure) return { type: e.type ?? 'Error', message: e.message };
  if (e instanceof TimeoutFailure)
    return {
      type: ErrorType.HostUnavailable,
      message: `a step timed out (${e.timeoutType}): is that host's worker running?`,
    };
  if (e instanceof Error) return { type: e.name, message: e.message };
  return { type: 'Error', message: String(e) };
}

/** Whole MiB, with one decimal below 10 MiB so that small images do not read as 0. */
const mib = (bytes: number) => {
  const v = bytes / 1024 / 1024;
  return v < 10 ? v.toFixed(1) : String(Math.round(v));
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const rate = (bytes: number, ms: number) =>
  ms > 0 ? ` at ${(bytes / 1024 / 1024 / (ms / 1000)).toFixed(1)} MiB/s` : '';
