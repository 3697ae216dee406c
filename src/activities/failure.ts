import { ApplicationFailure } from '@temporalio/common';
import { NON_RETRYABLE_ERROR_TYPES, type ErrorTypeName } from '../domain/errors.js';

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
