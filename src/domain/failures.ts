// Failures: how ferry raises them (typed, retryability from the type) and how workflows and
// clients read them back. Only @temporalio/common: safe in workflow code and in the client.
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES, type ErrorTypeName } from './errors.js';
import { NAMED_HOST_TIMEOUT, stepTimedOutMessage } from './host-liveness.js';

/** An activity failure with a stable type; retryability follows the type unless overridden. */
export function ferryFailure(
  type: ErrorTypeName,
  message: string,
  opts: { nonRetryable?: boolean; details?: unknown[] } = {},
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: opts.nonRetryable ?? NON_RETRYABLE_ERROR_TYPES.includes(type),
    details: opts.details,
  });
}

/** A cancellation, seen directly or through the activity or child that it cancelled. */
export function isCancelled(err: unknown): boolean {
  return (
    err instanceof CancelledFailure ||
    ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) &&
      err.cause instanceof CancelledFailure)
  );
}

/** Worth another attempt: not a cancel, not a type the retry policy gives up on. */
export function retryable(err: unknown): boolean {
  if (isCancelled(err)) return false;
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure)
    return !cause.nonRetryable && !NON_RETRYABLE_ERROR_TYPES.includes(cause.type as never);
  return true;
}

/** The activity timed out waiting for a worker: it never started on that host. */
export function neverStarted(err: unknown): boolean {
  return (
    err instanceof ActivityFailure &&
    err.cause instanceof TimeoutFailure &&
    err.cause.timeoutType === 'SCHEDULE_TO_START'
  );
}

/**
 * The same failure, its timeout (if it is one) worded with the host it was meant for: what
 * neverStarted and retryable read stays as it was.
 */
export function withHostNamed(err: unknown, host: string): unknown {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof TimeoutFailure)) return err;
  const t = err.cause;
  const named = new TimeoutFailure(
    stepTimedOutMessage(host, err.activityType, t.timeoutType ?? 'unknown'),
    t.lastHeartbeatDetails,
    t.timeoutType,
  );
  return new ActivityFailure(
    err.message,
    err.activityType,
    err.activityId,
    err.retryState,
    err.identity,
    named,
  );
}

export interface Cause {
  type: string;
  message: string;
}

/**
 * The innermost cause of a failure, as a stable type and a message a person can act on.
 * `host` names the host a timed-out step was meant for, when the caller knows it.
 */
export function describeCause(err: unknown, host?: string): Cause {
  let e: unknown = err;
  while ((e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) && e.cause) e = e.cause;
  if (isCancelled(e)) return { type: 'Cancelled', message: 'the migration was cancelled' };
  if (e instanceof ApplicationFailure) return { type: e.type ?? 'Error', message: e.message };
  if (e instanceof TimeoutFailure && e.message.includes(NAMED_HOST_TIMEOUT))
    return { type: ErrorType.HostUnavailable, message: e.message };
  if (e instanceof TimeoutFailure)
    return {
      type: ErrorType.HostUnavailable,
      message: `a step timed out (${e.timeoutType}): is ${host ? `${host}'s` : "that host's"} worker running?`,
    };
  // Not a Temporal failure class (e.g. a client-side error): follow plain causes.
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  if (e instanceof Error) {
    const typed = (e as Error & { type?: unknown }).type;
    return { type: typeof typed === 'string' ? typed : e.name, message: e.message };
  }
  return { type: 'Error', message: String(e) };
}
