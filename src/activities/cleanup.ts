import { removeTree } from '../runtimes/workload-files.js';
import type { HostContext } from './host-context.js';
import type { CleanupInput, WorkloadRef } from './inputs.js';

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
      if (!input.keepImages) await removeTree(ctx.paths.migrationDir(input.migrationId));
    },

    /** Stops and removes a copy of the workload on this host (idempotent). */
    async removeWorkload(ref: WorkloadRef): Promise<void> {
      const runtime = ctx.runtime(ref.runtime);
      await runtime.stop(ref.workload);
      await runtime.removeFiles(ref.workload);
    },

    /** Removes a migration's images and logs on this host (idempotent). */
    async removeMigrationFiles(input: { migrationId: string }): Promise<void> {
      await removeTree(ctx.paths.migrationDir(input.migrationId));
    },
  };
}
