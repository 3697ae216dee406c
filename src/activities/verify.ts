import { CancelledFailure } from '@temporalio/common';
import { activityCancelled, heartbeat } from './heartbeat.js';
import { ErrorType } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import type { HostContext } from './host-context.js';
import type { VerifyInput } from './inputs.js';

const POLL_MS = 200;

export function verifyActivities(ctx: HostContext) {
  return {
    /** The workload runs, with the same pid, for the whole window. */
    async verify(input: VerifyInput): Promise<{ pid?: number; checks: number }> {
      const runtime = ctx.runtime(input.runtime);
      const deadline = Date.now() + input.windowMs;
      let pid: number | undefined;
      let checks = 0;
      for (;;) {
        const info = await runtime.inspect(input.workload);
        checks++;
        if (!info?.running)
          throw ferryFailure(
            ErrorType.VerifyFailed,
            `${input.runtime}/${input.workload} stopped running on ${ctx.host.name} ${checks > 1 ? 'during' : 'at the start of'} the ${input.windowMs} ms verify window; see its output with: ferry logs ${input.workload} --host ${ctx.host.name}`,
          );
        if (pid !== undefined && info.pid !== pid)
          throw ferryFailure(
            ErrorType.VerifyFailed,
            `${input.runtime}/${input.workload} restarted on ${ctx.host.name} (pid ${pid} -> ${info.pid})`,
          );
        pid = info.pid;
        if (Date.now() >= deadline) return { pid, checks };
        heartbeat({ phase: 'verify', checks });
        await new Promise((r) => setTimeout(r, POLL_MS));
        // A cancel during the window means "put it back": the workflow rolls back.
        if (activityCancelled()) throw new CancelledFailure('cancelled during the verify window');
      }
    },
  };
}
