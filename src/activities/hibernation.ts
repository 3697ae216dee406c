// Host steps of hibernation (docs/hibernation.md): the host's boot id (a new one means it
// rebooted) and whether its snapshot store survives a reboot; and the worker's announcement of
// its boot to a hibernation that waits for it.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import {
  BOOT_ID_RE,
  HOST_BACK_SIGNAL,
  hibernationWorkflowId,
  volatileStoreReason,
  type HostBoot,
} from '../domain/hibernation.js';
import { fileSystemType, KERNEL_BOOT_ID_FILE, readBootId } from '../host/boot-id.js';
import type { HostContext } from './host-context.js';

export function hibernationActivities(ctx: HostContext) {
  return {
    /** This host's boot id now. */
    async hostBoot(): Promise<HostBoot> {
      return { host: ctx.host.name, bootId: await bootIdOf(ctx), atMs: Date.now() };
    },

    /** Refuses (nothing stopped yet) when the snapshot store would not survive a reboot. */
    async checkDurableStore(): Promise<{ store: string }> {
      const store = ctx.paths.snapshotsRoot();
      const why = volatileStoreReason(store, await fileSystemType(store), {
        simulated: ctx.host.bootIdFile !== undefined,
      });
      if (why) throw ferryFailure(ErrorType.StoreNotDurable, `on ${ctx.host.name}: ${why}`);
      return { store };
    },
  };
}

async function bootIdOf(ctx: HostContext): Promise<string> {
  const file = ctx.host.bootIdFile ?? KERNEL_BOOT_ID_FILE;
  const id = await readBootId(file).catch((err: Error) => {
    throw ferryFailure(
      ErrorType.HostUnavailable,
      `cannot read the boot id of ${ctx.host.name} from ${file}: ${err.message}`,
    );
  });
  if (!BOOT_ID_RE.test(id))
    throw ferryFailure(
      ErrorType.InvalidInput,
      `${file} on ${ctx.host.name} holds "${id.slice(0, 60)}", not a boot id (a UUID)`,
    );
  return id;
}

/**
 * Called once a worker polls: tells a hibernation of this host that waits for it which boot this
 * is (it resumes at once when the id is new). No hibernation of the host: nothing to tell.
 */
export async function announceBoot(client: Client, ctx: HostContext): Promise<'told' | 'none'> {
  const boot: HostBoot = { host: ctx.host.name, bootId: await bootIdOf(ctx), atMs: Date.now() };
  try {
    await client.workflow.getHandle(hibernationWorkflowId(ctx.host.name)).signal(HOST_BACK_SIGNAL, boot);
    return 'told';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'none';
    throw err;
  }
}
