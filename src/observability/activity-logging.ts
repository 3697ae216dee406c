import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';

/** Steps asked often and cheaply (the liveness probe, docs/hosts.md): their success at DEBUG. */
const ROUTINE_STEPS = new Set(['hostInfo']);

/**
 * One INFO line per finished step (the SDK logs its own only at DEBUG), carrying the SDK's
 * context (workflowId, activityType, attempt, taskQueue) plus how long it took and how it ended.
 */
export function activityLogInterceptor(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const started = Date.now();
        try {
          const result = await next(input);
          const meta = { durationMs: Date.now() - started };
          if (ROUTINE_STEPS.has(ctx.info.activityType)) ctx.log.debug('step completed', meta);
          else ctx.log.info('step completed', meta);
          return result;
        } catch (err) {
          const e = err as Error & { type?: string };
          ctx.log.warn('step failed', {
            durationMs: Date.now() - started,
            errorType: e.type ?? e.name,
            error: e.message,
          });
          throw err;
        }
      },
    },
  };
}
