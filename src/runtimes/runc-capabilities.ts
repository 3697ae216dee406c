// What the runc adapter can do (pure: read by workflows too).
import type { RuntimeCapabilities } from '../domain/capabilities.js';

export const RUNC_CAPABILITIES: RuntimeCapabilities = {
  runtime: 'runc',
  modes: { 'stop-and-copy': true, streamed: true, precopy: true, postcopy: true },
  criuOptions: ['tcpEstablished', 'fileLocks'],
  manualRestore: ({ workload, imagesDir }) =>
    `runc --root STATE/runc restore -d --image-path ${imagesDir} -b STATE/workloads/runc/${workload}/bundle ${workload}`,
};
