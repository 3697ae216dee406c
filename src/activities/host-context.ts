import type { FerryConfig, HostConfig } from '../config/schema.js';
import { findHost } from '../config/schema.js';
import { ErrorType } from '../domain/errors.js';
import type { RuntimeName } from '../domain/names.js';
import { createRuntime, type WorkloadRuntime } from '../runtimes/index.js';
import { HostPaths } from '../host/host-paths.js';
import { ferryFailure } from '../domain/failures.js';
import { FaultInjection } from './fault-injection.js';
import { HostSlots } from '../host/slots.js';

/** What a host worker knows: itself, the other hosts (to push images to), its runtimes. */
export class HostContext {
  readonly paths: HostPaths;
  readonly faults: FaultInjection;
  /** This host's bound on its heavy steps (hosts[].limits): one per worker process. */
  readonly slots: HostSlots;
  constructor(
    readonly config: FerryConfig,
    readonly host: HostConfig,
    opts: { faultInjection?: boolean } = {},
  ) {
    this.paths = new HostPaths(host.stateDir);
    this.faults = new FaultInjection(opts.faultInjection ?? false, host.stateDir);
    this.slots = new HostSlots(host.limits);
  }

  runtime(name: RuntimeName): WorkloadRuntime {
    if (!this.host.runtimes.includes(name))
      throw ferryFailure(
        ErrorType.RuntimeUnavailable,
        `runtime ${name} is not enabled on host ${this.host.name} (its config lists: ${this.host.runtimes.join(', ')})`,
      );
    return createRuntime(name, {
      host: this.host.name,
      paths: this.paths,
      runc: this.host.runc,
      podman: this.host.podman,
      docker: this.host.docker,
    });
  }

  peer(name: string): HostConfig {
    const peer = findHost(this.config, name);
    if (!peer)
      throw ferryFailure(
        ErrorType.UnknownHost,
        `host ${name} is not in the configuration of host ${this.host.name}`,
      );
    return peer;
  }
}
