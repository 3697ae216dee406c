// Wires the pre-copy loop into the migrate workflow: activities on the source, figures in the
// result and activity summaries.
import { isCancellation, proxyActivities } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { HostActivities } from '../activities/index.js';
import { ErrorType } from '../domain/errors.js';
import { precopyPolicy, type PrecopySummary } from '../domain/precopy.js';
import type { MigrateRequest } from '../domain/types.js';
import { runPrecopyRounds } from './precopy-rounds.js';

export interface PrecopyStepContext {
  req: MigrateRequest;
  migrationId: string;
  /** The source's task queue and the options of its long steps (heartbeats, retries). */
  sourceTaskQueue: string;
  longOptions: ActivityOptions;
  /** Filled as rounds complete (the result and the progress query share it). */
  summary: PrecopySummary;
  onRound: () => void;
  describe: (err: unknown) => { type: string; message: string };
}

/** Pre-copy rounds before the freeze; the mode choice has already checked dirty tracking. */
export async function precopyBeforeFreeze(c: PrecopyStepContext): Promise<PrecopySummary> {
  const { req } = c;
  const what = `${req.runtime}/${req.workload}`;
  const step = { workload: req.workload, runtime: req.runtime, migrationId: c.migrationId };
  const source = proxyActivities<HostActivities>({ ...c.longOptions, taskQueue: c.sourceTaskQueue });
  const opts = (summary: string): ActivityOptions => ({
    ...c.longOptions,
    taskQueue: c.sourceTaskQueue,
    summary,
  });
  return runPrecopyRounds(
    precopyPolicy(req.precopy),
    {
      // One attempt only: an attempt that failed may already have reset the dirty bits, so
      // redoing the round against the same parent could miss pages. The loop then ends the
      // rounds and the final dump is a full one.
      preDump: (round) =>
        source.preDump.executeWithOptions(
          {
            ...opts(
              `pre-copy round ${round} of ${what} on ${req.source}${round > 1 ? ` (pages dirtied since round ${round - 1})` : ' (all memory)'}`,
            ),
            retry: { ...c.longOptions.retry, maximumAttempts: 1 },
          },
          [{ ...step, round }],
        ),
      ship: (round) =>
        source.shipPrecopyRounds.executeWithOptions(
          opts(
            `ship pre-copy round ${round} of ${what}: ${req.source} → ${req.destination} (rsync over SSH)`,
          ),
          [{ ...step, destination: req.destination }],
        ),
      onRound: c.onRound,
      isFatal: (err) => {
        if (isCancellation(err)) return true;
        const type = c.describe(err).type;
        return type === ErrorType.WorkloadNotRunning || type === 'Cancelled';
      },
      describe: (err) => {
        const d = c.describe(err);
        return `${d.type}: ${d.message}`;
      },
    },
    c.summary,
  );
}
