// What the docker adapter can do (pure: read by workflows too).
import type { RuntimeCapabilities } from '../domain/capabilities.js';

const ownCheckpoint =
  "ferry drives docker's own checkpoint and restore, which only do stop-and-copy; use --mode stop-and-copy (or auto)";

export const DOCKER_CAPABILITIES: RuntimeCapabilities = {
  runtime: 'docker',
  modes: { 'stop-and-copy': true, streamed: ownCheckpoint, precopy: ownCheckpoint, postcopy: ownCheckpoint },
  // `docker checkpoint create` has no way to pass CRIU options.
  criuOptions: [],
  manualRestore: ({ workload, imagesDir }) =>
    `docker create (the same container, see ${imagesDir}/docker-container.json), copy ${imagesDir}/ferry into its checkpoints folder and ${imagesDir}/rootfs-diff.tar into its upper dir, then docker start --checkpoint ferry ${workload}`,
};
