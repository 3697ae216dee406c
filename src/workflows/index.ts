// Entry point of the workflow bundle: every workflow type ferry registers.
export { migrate } from './migrate/migrate.js';
export { cleanupLeftovers } from './cleanup-leftovers.js';
export { evacuateHost } from './evacuate-host.js';
export { hostCordon } from './host-cordon.js';
