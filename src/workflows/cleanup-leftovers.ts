import type { RuntimeName } from '../domain/names.js';
import { hostSteps } from './host-steps.js';

export interface CleanupLeftoversInput {
  host: string;
  workload: string;
  runtime: RuntimeName;
  migrationId: string;
}

/**
 * Started (and abandoned) by a migration whose rollback could not reach its destination:
 * waits for that host's worker to come back, as long as it takes, and removes what the
 * migration left there. Visible in the Temporal UI as cleanup-<migration id>.
 */
export async function cleanupLeftovers(input: CleanupLeftoversInput): Promise<{ removedWorkload: boolean }> {
  return hostSteps(input.host).whenBack.removeLeftovers.executeWithOptions(
    { summary: `remove what migration ${input.migrationId} left on ${input.host}` },
    [{ workload: input.workload, runtime: input.runtime, migrationId: input.migrationId }],
  );
}
