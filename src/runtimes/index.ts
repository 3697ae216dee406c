import type { RuntimeName } from '../domain/names.js';
import { ProcessRuntime } from './process-runtime.js';
import { RuncRuntime } from './runc-runtime.js';
import { PodmanRuntime } from './podman-runtime.js';
import { DockerRuntime } from './docker-runtime.js';
import type { RuntimeContext, WorkloadRuntime } from './runtime.js';

/** The one place that knows every runtime adapter. */
export function createRuntime(name: RuntimeName, ctx: RuntimeContext): WorkloadRuntime {
  switch (name) {
    case 'runc':
      return new RuncRuntime(ctx);
    case 'process':
      return new ProcessRuntime(ctx);
    case 'podman':
      return new PodmanRuntime(ctx, ctx.podman);
    case 'docker':
      return new DockerRuntime(ctx, ctx.docker);
  }
}

export type { WorkloadRuntime, RuntimeContext } from './runtime.js';
