// Entry point of the workflow bundle: every workflow type ferry registers.
export { migrate } from './migrate/migrate.js';
export { cleanupLeftovers } from './cleanup-leftovers.js';
export { evacuateHost } from './evacuate-host.js';
export { hostCordon } from './host-cordon.js';
export { hibernateHost } from './hibernate-host.js';
export { snapshotCatalog } from './snapshot-catalog.js';
export { snapshotCreate } from './snapshots/create.js';
export { snapshotRestore } from './snapshots/restore.js';
export { snapshotRemove } from './snapshots/remove.js';
export { snapshotCopy } from './snapshots/copy.js';
export { scheduledSnapshot } from './snapshots/scheduled.js';
export { snapshotCheck } from './snapshots/check.js';
export { hostProbe } from './host-probe.js';
