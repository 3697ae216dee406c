import { checkpointActivities } from './checkpoint.js';
import { cleanupActivities } from './cleanup.js';
import { freezeRecordActivities } from './freezes.js';
import { hibernationActivities } from './hibernation.js';
import { hostInfoActivities } from './host-info.js';
import type { HostContext } from './host-context.js';
import { imageActivities } from './image.js';
import { pageServerActivities } from './page-server.js';
import { postcopyActivities } from './postcopy.js';
import { preflightActivities } from './preflight.js';
import { precopyActivities } from './precopy.js';
import { restoreActivities } from './restore.js';
import { snapshotActivities } from './snapshots.js';
import { transferActivities } from './transfer.js';
import { verifyActivities } from './verify.js';

/** Every activity a host worker serves on its own task queue. */
export function createHostActivities(ctx: HostContext) {
  return {
    ...hostInfoActivities(ctx),
    ...preflightActivities(ctx),
    ...checkpointActivities(ctx),
    ...precopyActivities(ctx),
    ...transferActivities(ctx),
    ...imageActivities(ctx),
    ...pageServerActivities(ctx),
    ...postcopyActivities(ctx),
    ...restoreActivities(ctx),
    ...verifyActivities(ctx),
    ...cleanupActivities(ctx),
    ...freezeRecordActivities(ctx),
    ...snapshotActivities(ctx),
    ...hibernationActivities(ctx),
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
