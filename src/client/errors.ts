import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure } from '@temporalio/common';
import { describeCause } from '../domain/failures.js';

/**
 * Why a request was refused: `invalid` (bad or unknown names, bad options), `conflict` (one of
 * the same workload or host already runs), `no-worker` (a host's worker is not polling).
 */
export type RequestProblem = 'invalid' | 'conflict' | 'no-worker';

/** A request ferry refuses before starting anything; the workload is untouched. */
export class MigrationRequestError extends Error {
  override name = 'MigrationRequestError';
  constructor(
    message: string,
    readonly problem: RequestProblem = 'invalid',
    /** The running workflow a conflict is with. */
    readonly workflowId?: string,
  ) {
    super(message);
  }
}

/** Why a workflow itself failed, as RunState reports it. */
export interface RunFailure {
  type?: string;
  message: string;
}

/** Why a run ended without a result (what handle.result() threw). */
export function describeFailure(err: Error): RunFailure {
  const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
  // A failure the workflow raised (InvalidInput, ModeUnavailable, an activity's): named the way
  // ferry names every failure.
  if (
    cause instanceof ApplicationFailure ||
    cause instanceof ActivityFailure ||
    cause instanceof ChildWorkflowFailure
  )
    return describeCause(cause);
  // Cancelled, terminated or timed out as a whole: the status says which, and there is no
  // application type to report (describeCause would word it as a step of a migration).
  return { message: (cause ?? err).message };
}
