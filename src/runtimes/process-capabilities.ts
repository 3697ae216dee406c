// What the process adapter can do (pure: read by workflows too).
import type { RuntimeCapabilities } from '../domain/capabilities.js';

export const PROCESS_CAPABILITIES: RuntimeCapabilities = {
  runtime: 'process',
  modes: {
    'stop-and-copy': true,
    streamed: true,
    precopy: true,
    postcopy:
      'postcopy needs a container runtime (own PID and mount namespaces); process workloads cannot be restored lazily',
  },
  criuOptions: ['tcpEstablished', 'fileLocks'],
  // An adopted root that did not lead its session was dumped with --shell-job (ferry-stdio.json).
  manualRestore: ({ imagesDir }) =>
    `criu restore -D ${imagesDir} -d (add --shell-job when ${imagesDir}/ferry-stdio.json says "shellJob": true)`,
};
