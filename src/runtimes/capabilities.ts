// Every runtime's capability record (pure: workflows import this file).
import type { CapabilitiesOf, RuntimeCapabilities } from '../domain/capabilities.js';
import type { RuntimeName } from '../domain/names.js';
import { DOCKER_CAPABILITIES } from './docker-capabilities.js';
import { PODMAN_CAPABILITIES } from './podman-capabilities.js';
import { PROCESS_CAPABILITIES } from './process-capabilities.js';
import { RUNC_CAPABILITIES } from './runc-capabilities.js';

export const CAPABILITIES: Readonly<Record<RuntimeName, RuntimeCapabilities>> = {
  runc: RUNC_CAPABILITIES,
  process: PROCESS_CAPABILITIES,
  podman: PODMAN_CAPABILITIES,
  docker: DOCKER_CAPABILITIES,
};

export const capabilitiesOf: CapabilitiesOf = (runtime) => CAPABILITIES[runtime];
