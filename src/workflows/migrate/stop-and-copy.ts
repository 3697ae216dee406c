// Stages 3-7 for stop-and-copy, streamed and pre-copy modes (docs/architecture.md): the final
// dump freezes the workload, images go to the destination, restore, verify, clean up.
// Any failure after the freeze rolls back.
import { sleep } from '@temporalio/workflow';
import { neverStarted, retryable } from '../../domain/failures.js';
import type { CheckpointResult, MigrationResult, RestoreResult } from '../../domain/types.js';
import { DEFAULT_VERIFY_WINDOW_MS } from '../../domain/types.js';
import { bestEffort, succeeded } from '../host-steps.js';
import { cleanUpAfterSuccess, cleanUpDestinationBeforeFreeze, endBeforeFreeze } from './cleanup.js';
import { nonCancellable, type Migration } from './context.js';
import { mib, rate } from './format.js';
import { bringPagesBack, restoreSource, rollBack } from './rollback.js';

/** Attempts are made by the workflow, to know for sure whether any of them started (fencing). */
const RESTORE_ATTEMPTS = 3;

export async function stopAndCopy(m: Migration): Promise<MigrationResult> {
  let checkpoint: CheckpointResult;
  try {
    checkpoint = await finalDump(m);
  } catch (err) {
    return nonCancellable(() => afterFailedDump(m, err));
  }
  const fence = { restoreMayHaveRun: false };
  try {
    await transfer(m, checkpoint);
    await restore(m, checkpoint, fence);
    await verifyOnDestination(m);
  } catch (err) {
    return nonCancellable(async () => m.run.finish(await rollBack(m, fence.restoreMayHaveRun), err));
  }
  await cleanUpAfterSuccess(m);
  return m.run.finish('migrated');
}

/** The workload freezes; downtime starts. Streamed: pages go straight to the destination. */
async function finalDump(m: Migration): Promise<CheckpointResult> {
  const { req, what, run, src, dst } = m;
  const checkpoint = await run.phase('checkpoint', async () => {
    const parentRound = run.result.precopy?.finalParentRound;
    // The page server never outlives this step (it also exits by itself after the dump).
    const pageServer =
      run.mode === 'streamed'
        ? await dst.quick.startPageServer.executeWithOptions(
            { summary: `start a CRIU page server on ${req.destination}` },
            [m.step],
          )
        : undefined;
    if (pageServer) run.result.pageServer = pageServer;
    try {
      return await src.long.checkpoint.executeWithOptions(
        {
          summary: `checkpoint ${what} on ${req.source}: ${mib(run.memoryBytes)} MiB of memory (final dump, the workload freezes${pageServer ? `; pages streamed to ${pageServer.address}:${pageServer.port}` : ''}${parentRound ? `; parent: pre-copy round ${parentRound}` : ''})`,
        },
        [{ ...m.step, pageServer, parentRound }],
      );
    } finally {
      if (pageServer)
        await nonCancellable(() => bestEffort('stop the page server', dst.quick.stopPageServer(m.step)));
    }
  });
  run.freezesSeen++;
  run.result.criu.dump = checkpoint.stats;
  run.result.imageBytes = checkpoint.imageBytes;
  const frozen = checkpoint.stats.frozenTimeUs;
  run.figures.checkpoint = `${mib(checkpoint.imageBytes)} MiB of images${
    frozen !== undefined ? `, CRIU froze it ${Math.round(frozen / 1000)} ms` : ''
  }`;
  return checkpoint;
}

/**
 * CRIU and the runtimes resume the workload when a dump fails: if it runs, nothing was lost.
 * If not, the dump completed before the step failed (or was cancelled): the destination never
 * received anything, so the source comes back from its local checkpoint.
 */
async function afterFailedDump(m: Migration, err: unknown): Promise<MigrationResult> {
  if (await succeeded(m.src.quick.preflightSource(m.ref))) return endBeforeFreeze(m, err);
  if (!(await bringPagesBack(m))) return m.run.finish('failed-needs-operator', err);
  await cleanUpDestinationBeforeFreeze(m);
  return m.run.finish(await m.run.phase('rollback', () => restoreSource(m)), err);
}

async function transfer(m: Migration, checkpoint: CheckpointResult): Promise<void> {
  const { req, what, run } = m;
  await run.phase('transfer', async () => {
    const sent = await m.src.long.transfer.executeWithOptions(
      {
        summary: `transfer ${what}: ${mib(checkpoint.imageBytes)} MiB of images ${req.source} → ${req.destination} (rsync over SSH)`,
      },
      [{ ...m.step, destination: req.destination, pagesStreamed: run.mode === 'streamed' }],
    );
    run.sent(sent.bytesSent);
    run.figures.transfer = `${mib(sent.bytesSent)} MiB sent${rate(sent.bytesSent, sent.durationMs)}`;
  });
}

async function restore(
  m: Migration,
  checkpoint: CheckpointResult,
  fence: { restoreMayHaveRun: boolean },
): Promise<void> {
  const { req, what, run } = m;
  const restored = await run.phase('restore', async (): Promise<RestoreResult> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await m.dst.once.restore.executeWithOptions(
          {
            summary: `restore ${what} on ${req.destination}: ${mib(checkpoint.imageBytes)} MiB of images${attempt > 1 ? ` (attempt ${attempt})` : ''}`,
          },
          [m.step],
        );
        fence.restoreMayHaveRun = true;
        return r;
      } catch (err) {
        if (!neverStarted(err)) fence.restoreMayHaveRun = true;
        // No worker took it: waiting again for a worker that is not there only delays the rollback.
        if (attempt >= RESTORE_ATTEMPTS || !retryable(err) || neverStarted(err)) throw err;
        await sleep(attempt * 1_000);
      }
    }
  });
  run.result.criu.restore = restored.stats;
  run.result.downtimeMs = restored.runningAtMs - checkpoint.frozenAtMs;
  run.figures.restore = `running again after ${run.result.downtimeMs} ms of downtime`;
}

/** The restored workload keeps running, with the same pid, for the verify window. */
export async function verifyOnDestination(m: Migration): Promise<void> {
  const { req, what, run } = m;
  const windowMs = req.verifyWindowMs ?? DEFAULT_VERIFY_WINDOW_MS;
  await run.phase('verify', () =>
    m.dst.once.verify.executeWithOptions(
      {
        startToCloseTimeout: windowMs + 120_000,
        summary: `verify ${what} keeps running on ${req.destination} for ${windowMs} ms`,
      },
      [{ ...m.ref, windowMs }],
    ),
  );
  run.figures.verify = `kept running for ${windowMs} ms`;
}
