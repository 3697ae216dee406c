import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorType } from '../domain/errors.js';

/**
 * HOOK for pre-copy rounds (branch `precopy` replaces this module): called by migrate, while
 * the workload still runs, when the chosen mode is precopy. chooseMode only picks precopy when
 * the source tracks dirty pages, which no preflight reports in this build.
 */
export async function runPrecopyRounds(_input: {
  migrationId: string;
  workload: string;
  source: string;
  destination: string;
}): Promise<void> {
  throw ApplicationFailure.nonRetryable(
    'pre-copy rounds are not part of this build',
    ErrorType.ModeUnavailable,
  );
}
