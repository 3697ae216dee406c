// What the runc adapter can do (pure: read by workflows too).
import type { RuntimeCapabilities } from '../domain/capabilities.js';

export const RUNC_CAPABILITIES: RuntimeCapabilities = {
  runtime: 'runc',
  modes: { 'stop-and-copy': true, streamed: true, precopy: true, postcopy: true },
  criuOptions: ['tcpEstablished', 'fileLocks'],
  manualRestore: ({ workload, imagesDir }) =>
    `runc --root RUNC-ROOT restore -d --image-path ${imagesDir} -b BUNDLE ${workload} (RUNC-ROOT: the host's runc.root; BUNDLE: STATE/workloads/runc/${workload}/bundle, or the user's own bundle folder in STATE/workloads/runc/${workload}/user-bundle.json)`,
};
