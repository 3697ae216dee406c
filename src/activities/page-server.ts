import { mkdir } from 'node:fs/promises';
import { ErrorType } from '../domain/errors.js';
import { startPageServer, stopPageServer } from '../criu/page-server.js';
import type { PageServerAddress } from '../domain/page-server.js';
import { ferryFailure } from '../domain/failures.js';
import type { HostContext } from './host-context.js';
import type { MigrationStepInput } from './inputs.js';

export function pageServerActivities(ctx: HostContext) {
  return {
    /**
     * Destination, streamed mode: a CRIU page server on this host's own address that writes
     * the final dump's pages straight into the migration's images folder.
     */
    async startPageServer(input: MigrationStepInput): Promise<PageServerAddress> {
      const images = ctx.paths.imagesDir(input.migrationId);
      const work = ctx.paths.workDir(input.migrationId);
      await mkdir(images, { recursive: true, mode: 0o700 });
      await mkdir(work, { recursive: true, mode: 0o700 });
      await stopPageServer(images); // one left by an earlier attempt of this step
      try {
        return await startPageServer(ctx.host.ssh.address, images, work);
      } catch (err) {
        throw ferryFailure(ErrorType.CommandFailed, `on ${ctx.host.name}: ${(err as Error).message}`);
      }
    },

    /** Ends the migration's page server if it still runs (it normally exits after the dump). */
    async stopPageServer(input: MigrationStepInput): Promise<void> {
      await stopPageServer(ctx.paths.imagesDir(input.migrationId));
    },
  };
}
