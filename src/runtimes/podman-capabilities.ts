// What the podman adapter can do (pure: read by workflows too).
import type { RuntimeCapabilities } from '../domain/capabilities.js';

// podman checkpoints through its own command (an archive): ferry cannot run pre-dump rounds or
// steer its pages elsewhere.
const ownCheckpoint =
  "ferry drives podman's own checkpoint and restore, which only do stop-and-copy; use --mode stop-and-copy (or auto)";

export const PODMAN_CAPABILITIES: RuntimeCapabilities = {
  runtime: 'podman',
  modes: { 'stop-and-copy': true, streamed: ownCheckpoint, precopy: ownCheckpoint, postcopy: ownCheckpoint },
  criuOptions: ['tcpEstablished', 'fileLocks'],
  // hostNeutralArchive edits config.dump inside the archive.
  restoreRewrites: ['podman-checkpoint.tar'],
  manualRestore: ({ imagesDir }) => `podman container restore --import ${imagesDir}/podman-checkpoint.tar`,
};
