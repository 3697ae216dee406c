// What the docker adapter can do (pure: read by workflows too).
import type { RuntimeCapabilities } from '../domain/capabilities.js';

const ownCheckpoint =
  "ferry drives docker's own checkpoint and restore, which only do stop-and-copy; use --mode stop-and-copy (or auto)";

export const DOCKER_CAPABILITIES: RuntimeCapabilities = {
  runtime: 'docker',
  modes: { 'stop-and-copy': true, streamed: ownCheckpoint, precopy: ownCheckpoint, postcopy: ownCheckpoint },
  // `docker checkpoint create` has no way to pass CRIU options.
  criuOptions: [],
  // The source keeps the checkpointed container (stopped): its checkpoint goes back into it.
  manualRestore: ({ workload, imagesDir }) =>
    `copy ${imagesDir}/ferry to DATA-ROOT/containers/ID/checkpoints/ferry (ID: the Id in ${imagesDir}/docker-container.json, DATA-ROOT: docker info --format '{{.DockerRootDir}}'), then docker start --checkpoint ferry ${workload} and docker update --restart POLICY ${workload} (ferry turned its restart policy off for the checkpoint)`,
};
