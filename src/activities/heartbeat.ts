import { Context } from '@temporalio/activity';

/**
 * Runs a long step while heartbeating every few seconds, so that a dead worker is noticed
 * within the heartbeat timeout instead of the whole start-to-close timeout.
 */
export async function withHeartbeat<T>(
  work: () => Promise<T>,
  details: () => unknown = () => undefined,
): Promise<T> {
  const ctx = currentContext();
  if (!ctx) return work();
  ctx.heartbeat(details());
  const timer = setInterval(() => ctx.heartbeat(details()), 2_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (CLI, tests)
  }
}

/** One heartbeat, when called inside an activity (a no-op from the CLI and tests). */
export function heartbeat(details: unknown): void {
  currentContext()?.heartbeat(details);
}

/** The current activity's cancellation signal (cancel or timeout); none outside an activity. */
export function activitySignal(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
}

/** The current activity was asked to cancel (false outside an activity: the guest proof, tests). */
export function activityCancelled(): boolean {
  return currentContext()?.cancellationSignal.aborted ?? false;
}
