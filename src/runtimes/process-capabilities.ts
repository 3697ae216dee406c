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
  manualRestore: ({ imagesDir }) => `criu restore -D ${imagesDir} -d`,
};
