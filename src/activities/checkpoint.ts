import { CancelledFailure } from '@temporalio/common';
import { mkdir, readFile } from 'node:fs/promises';
import { waitForCommands } from '../host/stale-commands.js';
import path from 'node:path';
import { ErrorType } from '../domain/errors.js';
import type { CheckpointResult, CriuDumpStats } from '../domain/types.js';
import { readDumpStats } from '../runtimes/criu-steps.js';
import { refuseUnsupportedCriuOptions } from '../runtimes/criu-options.js';
import { ferryFailure } from '../domain/failures.js';
import { activityCancelled, withHeartbeat } from './heartbeat.js';
import { frozenFromStats, runFreezingStep, settleOpenAttempts } from './freezes.js';
import type { HostContext } from './host-context.js';
import { withSlot } from './slots.js';
import type { CheckpointInput } from './inputs.js';
import { precopyParentLink } from '../domain/precopy.js';
import { directorySize, makePrivate } from '../host/disk-usage.js';
import { readJson, writeJsonAtomic } from '../runtimes/workload-files.js';

export function checkpointActivities(ctx: HostContext) {
  return {
    /**
     * Final dump on the source. Downtime starts here. Idempotent across retries. After pre-copy,
     * the last round is its parent: only pages dirtied since are written.
     */
    async checkpoint(input: CheckpointInput): Promise<CheckpointResult> {
      const resultFile = path.join(ctx.paths.migrationDir(input.migrationId), 'checkpoint.json');
      const done = await readJson<CheckpointResult>(resultFile);
      if (done) return done;
      const runtime = ctx.runtime(input.runtime);
      const images = ctx.paths.imagesDir(input.migrationId);
      const work = ctx.paths.workDir(input.migrationId);
      // A dump an earlier attempt started may still run (its worker was killed): never start a
      // second one; let it finish and judge by its log.
      await waitForCommands(images, 10 * 60_000);
      const info = await runtime.inspect(input.workload);
      if (!info?.running) {
        // A previous attempt may have dumped it and died before recording the result.
        const log = await readFile(path.join(work, 'dump.log'), 'utf8').catch(() => '');
        if (/Dumping finished successfully/.test(log)) {
          await settleOpenAttempts(ctx, input.migrationId); // its freeze, from that log
          return record(Date.now(), 0, await readDumpStats(work));
        }
        throw ferryFailure(
          ErrorType.WorkloadNotRunning,
          `${input.runtime}/${input.workload} is not running on ${ctx.host.name}`,
        );
      }
      await ctx.faults.at('before-checkpoint', input.workload);
      // Cancelled before the freeze: stop here, the workload keeps running.
      if (activityCancelled()) throw new CancelledFailure('cancelled before the final dump');
      await mkdir(ctx.paths.migrationsRoot(), { recursive: true, mode: 0o700 });
      await mkdir(images, { recursive: true, mode: 0o700 });
      await mkdir(work, { recursive: true, mode: 0o700 });
      // The one gate for every runtime: CRIU options its checkpoint cannot pass are refused.
      refuseUnsupportedCriuOptions(runtime.capabilities, input.criu);
      // A CRIU slot of this host first (hosts[].limits): the freeze starts once it has one.
      const { frozenAtMs, outcome } = await withSlot(ctx, 'criu', async () => {
        const frozenAtMs = Date.now();
        const outcome = await runFreezingStep(
          ctx,
          {
            migrationId: input.migrationId,
            step: 'checkpoint',
            what: `${input.runtime}/${input.workload}`,
            log: path.join(work, 'dump.log'),
            marker: images,
            caps: runtime.capabilities,
          },
          () =>
            withHeartbeat(
              () =>
                runtime.checkpoint(input.workload, input.migrationId, {
                  ...input.criu,
                  pageServer: input.pageServer,
                  parent: input.parentRound ? precopyParentLink(input.parentRound, 'final') : undefined,
                }),
              () => ({ phase: 'checkpoint' }),
            ),
          (o, stepMs) => frozenFromStats(o.stats, stepMs),
        );
        return { frozenAtMs, outcome };
      });
      return record(frozenAtMs, Date.now() - frozenAtMs, outcome.stats);

      /** Makes the images private and records the result, so that a retry finds it. */
      async function record(
        frozenAt: number,
        durationMs: number,
        stats: CriuDumpStats,
      ): Promise<CheckpointResult> {
        await makePrivate(images);
        const result: CheckpointResult = {
          frozenAtMs: frozenAt,
          durationMs,
          imageBytes: await directorySize(images),
          stats,
        };
        await writeJsonAtomic(resultFile, result);
        return result;
      }
    },
  };
}
