import { removeTree } from '../runtimes/workload-files.js';
import type { HostContext } from './host-context.js';
import { killCommands } from '../host/stale-commands.js';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { CleanupInput, MigrationStepInput, WorkloadRef } from './inputs.js';

export function cleanupActivities(ctx: HostContext) {
  return {
    /** After success: drop images (unless kept) and, on the source, the moved workload's files. */
    async cleanupMigration(input: CleanupInput): Promise<void> {
      if (input.removeWorkloadFiles) {
        const runtime = ctx.runtime(input.runtime);
        const info = await runtime.inspect(input.workload);
        if (info?.running)
          throw new Error(
            `refusing to remove ${input.runtime}/${input.workload}: it runs on ${ctx.host.name}`,
          );
        await runtime.stop(input.workload);
        await runtime.removeFiles(input.workload);
      }
      await killCommands(ctx.paths.imagesDir(input.migrationId));
      if (!input.keepImages) await removeTree(ctx.paths.migrationDir(input.migrationId));
    },

    /** Stops and removes a copy of the workload on this host (idempotent). */
    async removeWorkload(ref: WorkloadRef): Promise<void> {
      const runtime = ctx.runtime(ref.runtime);
      await runtime.stop(ref.workload);
      await runtime.removeFiles(ref.workload);
    },

    /**
     * What a rolled-back migration left on a host that was unreachable at the time, run once the
     * host is back: its images, and the workload's copy if it is not running or was restored by
     * this very migration (a newer migration's copy is left alone).
     */
    async removeLeftovers(input: MigrationStepInput): Promise<{ removedWorkload: boolean }> {
      const runtime = ctx.runtime(input.runtime);
      const restoredByThis = await access(
        path.join(ctx.paths.migrationDir(input.migrationId), `restore-${ctx.host.name}.json`),
      ).then(
        () => true,
        () => false,
      );
      const info = await runtime.inspect(input.workload);
      const removedWorkload = !!info && (!info.running || restoredByThis);
      if (removedWorkload) {
        await runtime.stop(input.workload);
        await runtime.removeFiles(input.workload);
      }
      await removeTree(ctx.paths.migrationDir(input.migrationId));
      return { removedWorkload };
    },

    /** Removes a migration's images and logs on this host (idempotent). */
    async removeMigrationFiles(input: { migrationId: string }): Promise<void> {
      // A page server of the migration still waiting for a dump must not outlive it.
      await killCommands(ctx.paths.migrationDir(input.migrationId));
      await removeTree(ctx.paths.migrationDir(input.migrationId));
    },
  };
}
