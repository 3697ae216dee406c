import path from 'node:path';
import type { RestoreResult } from '../domain/types.js';
import { readJson, writeJsonAtomic } from '../runtimes/workload-files.js';
import { withHeartbeat } from './heartbeat.js';
import { withSlot } from './slots.js';
import { keepRestoreLog } from './freezes.js';
import type { HostContext } from './host-context.js';
import type { MigrationStepInput, RestoreInput, WorkloadRef } from './inputs.js';
import { waitForCommands } from '../host/stale-commands.js';

export function restoreActivities(ctx: HostContext) {
  return {
    /**
     * Restores the workload on this host from the migration's images. Runs on the destination,
     * or on the source when rolling back. Recognises a restore done by an earlier attempt.
     */
    async restore(input: RestoreInput): Promise<RestoreResult> {
      const resultFile = path.join(
        ctx.paths.migrationDir(input.migrationId),
        `restore-${ctx.host.name}.json`,
      );
      const runtime = ctx.runtime(input.runtime);
      // A restore an earlier attempt started may still run (its worker was killed).
      await waitForCommands(ctx.paths.imagesDir(input.migrationId), 10 * 60_000);
      await ctx.faults.at('before-restore', input.workload);
      const before = await runtime.inspect(input.workload);
      if (before?.running) {
        const earlier = await readJson<RestoreResult>(resultFile);
        return earlier
          ? { ...earlier, alreadyRestored: true }
          : { runningAtMs: Date.now(), durationMs: 0, pid: before.pid, stats: {}, alreadyRestored: true };
      }
      let started = Date.now();
      const restore = () => {
        started = Date.now();
        return withHeartbeat(
          () =>
            runtime.restore(input.workload, input.migrationId, {
              ...input.criu,
              lazyPagesFrom: input.lazyPagesFrom,
              freshId: input.freshId,
            }),
          () => ({ phase: 'restore' }),
        );
      };
      // A CRIU slot, ahead of dumps (the workload is frozen until it runs). Not for a lazy
      // restore: it needs the source's lazy dump, which may wait for a slot there (a cycle).
      const outcome = await (
        input.lazyPagesFrom ? restore() : withSlot(ctx, 'criu', restore, { urgent: true })
      ).catch(async (err: unknown) => {
        // Its CRIU log outlives the migration folder that a rollback removes.
        throw await keepRestoreLog(ctx, input.migrationId, err);
      });
      const result: RestoreResult = {
        runningAtMs: Date.now(),
        durationMs: Date.now() - started,
        pid: outcome.pid,
        stats: outcome.stats,
        alreadyRestored: false,
      };
      await writeJsonAtomic(resultFile, result);
      await ctx.faults.at('after-restore', input.workload);
      return result;
    },

    /**
     * failed-needs-operator: the line an operator pastes on this host to restore the kept
     * checkpoint (src/runtimes/hand-restore.ts); none where the runtime's record says how.
     */
    async handRestore(input: MigrationStepInput): Promise<{ command?: string }> {
      const runtime = ctx.runtime(input.runtime);
      const command = await runtime.handRestoreCommand?.(input.workload, input.migrationId, input.criu);
      return command ? { command } : {};
    },

    /** Last resort of a rollback, only when the request allows it: a fresh start, state lost. */
    async startFresh(ref: WorkloadRef): Promise<{ pid?: number }> {
      const info = await ctx.runtime(ref.runtime).startFresh(ref.workload);
      return { pid: info.pid };
    },
  };
}
