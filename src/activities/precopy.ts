import { mkdir } from 'node:fs/promises';
import { canRun } from '../domain/capabilities.js';
import { ErrorType } from '../domain/errors.js';
import type { MigrationMode } from '../domain/modes.js';
import { RUNTIMES } from '../domain/names.js';
import { ferryFailure } from '../domain/failures.js';
import path from 'node:path';
import { precopyParentLink, type PrecopyRound } from '../domain/precopy.js';
import { CAPABILITIES } from '../runtimes/capabilities.js';
import { readJson, removeTree, writeJsonAtomic } from '../runtimes/workload-files.js';
import { directorySize, makePrivate } from '../host/disk-usage.js';
import { withHeartbeat } from './heartbeat.js';
import { withSlot } from './slots.js';
import { frozenFromStats, runFreezingStep, settleOpenAttempts } from './freezes.js';
import type { HostContext } from './host-context.js';
import type { PreDumpInput } from './inputs.js';
import { waitForCommands } from '../host/stale-commands.js';
import { noteTrackedDump } from './memory-tracking.js';

export function precopyActivities(ctx: HostContext) {
  return {
    /**
     * One pre-copy round on the source while the workload runs: its memory (after round 1,
     * only pages dirtied since the previous round) into migrations/<id>/rounds/round-N, private.
     * Idempotent: a retry returns the recorded figures, or redoes a round an attempt left half done.
     */
    async preDump(input: PreDumpInput): Promise<PrecopyRound> {
      const images = ctx.paths.roundDir(input.migrationId, input.round);
      const work = ctx.paths.roundWorkDir(input.migrationId, input.round);
      const resultFile = `${work}.json`; // outside the folders that travel
      const done = await readJson<PrecopyRound>(resultFile);
      if (done) return done;
      const runtime = ctx.runtime(input.runtime);
      // The record decides; the member check only narrows the type (the capability test keeps
      // the two in step).
      if (!canRun(runtime.capabilities, 'precopy') || !runtime.preDump)
        throw ferryFailure(
          ErrorType.ModeUnavailable,
          `${input.runtime} cannot run pre-copy rounds (only ${runtimesThatCan('precopy')} workloads can)`,
        );
      const preDump = runtime.preDump.bind(runtime);
      await waitForCommands(images, 10 * 60_000);
      // An attempt whose worker died is counted from its log before the folders are reset.
      await settleOpenAttempts(ctx, input.migrationId);
      await removeTree(images);
      await removeTree(work);
      await mkdir(ctx.paths.migrationDir(input.migrationId), { recursive: true, mode: 0o700 });
      await mkdir(path.dirname(images), { recursive: true, mode: 0o700 });
      await mkdir(images, { recursive: true, mode: 0o700 });
      await mkdir(work, { recursive: true, mode: 0o700 });
      // It resets the dirty-page bits: no snapshot taken before can be a parent any more.
      await noteTrackedDump(
        ctx.paths,
        input.runtime,
        input.workload,
        `${input.migrationId}/round-${input.round}`,
      );
      let started = Date.now();
      const outcome = await withSlot(ctx, 'criu', () => {
        started = Date.now(); // the round's own time, not its wait for a slot
        return runFreezingStep(
          ctx,
          {
            migrationId: input.migrationId,
            step: 'pre-dump',
            what: `${input.runtime}/${input.workload}`,
            log: path.join(work, 'dump.log'),
            marker: images,
            caps: runtime.capabilities,
          },
          () =>
            withHeartbeat(
              () =>
                preDump(input.workload, {
                  images,
                  work,
                  parent: input.round > 1 ? precopyParentLink(input.round - 1, 'round') : undefined,
                }),
              () => ({ phase: 'precopy', round: input.round }),
            ),
          (o, stepMs) => frozenFromStats(o.stats, stepMs),
        );
      });
      const dumpMs = Date.now() - started;
      await makePrivate(images);
      const round: PrecopyRound = {
        round: input.round,
        pagesWritten: outcome.stats.pagesWritten ?? 0,
        pagesSkipped: outcome.stats.pagesSkippedParent ?? 0,
        pagesScanned: outcome.stats.pagesScanned ?? 0,
        imageBytes: await directorySize(images),
        bytesSent: 0,
        dumpMs,
        shipMs: 0,
      };
      await writeJsonAtomic(resultFile, round);
      return round;
    },
  };
}

/** "runc and process": the runtimes whose record lets mode run. */
function runtimesThatCan(mode: MigrationMode): string {
  return RUNTIMES.filter((r) => canRun(CAPABILITIES[r], mode)).join(' and ');
}
