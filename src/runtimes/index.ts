import type { RuntimeName } from '../domain/names.js';
import { ProcessRuntime } from './process-runtime.js';
import { RuncRuntime } from './runc-runtime.js';
import type { RuntimeContext, WorkloadRuntime } from './runtime.js';

/** The one place that knows every runtime adapter. */
export function createRuntime(name: RuntimeName, ctx: RuntimeContext): WorkloadRuntime {
  switch (name) {
    case 'runc':
      return new RuncRuntime(ctx);
    case 'process':
      return new ProcessRuntime(ctx);
  }
}

export type { WorkloadRuntime, RuntimeContext } from './runtime.js';
