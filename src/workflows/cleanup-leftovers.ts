import { proxyActivities } from '@temporalio/workflow';
import type { HostActivities } from '../activities/index.js';
import { hostTaskQueue, type RuntimeName } from '../domain/names.js';

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
  const { removeLeftovers } = proxyActivities<HostActivities>({
    taskQueue: hostTaskQueue(input.host),
    scheduleToStartTimeout: '30d',
    startToCloseTimeout: '5m',
    retry: { initialInterval: '5s', maximumInterval: '5m', backoffCoefficient: 2 },
    summary: `remove what migration ${input.migrationId} left on ${input.host}`,
  });
  return removeLeftovers({
    workload: input.workload,
    runtime: input.runtime,
    migrationId: input.migrationId,
  });
}
