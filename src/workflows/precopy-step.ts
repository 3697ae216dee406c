// Wires the pre-copy loop into the migrate workflow: activities on the source, figures in the
// result and activity summaries.
import { ErrorType } from '../domain/errors.js';
import { describeCause, isCancelled } from '../domain/failures.js';
import { precopyPolicy, type PrecopySummary } from '../domain/precopy.js';
import type { MigrateRequest } from '../domain/types.js';
import type { HostSteps } from './host-steps.js';
import { runPrecopyRounds } from './precopy-rounds.js';

export interface PrecopyStepContext {
  req: MigrateRequest;
  migrationId: string;
  source: HostSteps;
  /** Filled as rounds complete (the result and the progress query share it). */
  summary: PrecopySummary;
  onRound: () => void;
}

/** Pre-copy rounds before the freeze; the mode choice has already checked dirty tracking. */
export async function precopyBeforeFreeze(c: PrecopyStepContext): Promise<PrecopySummary> {
  const { req, source } = c;
  const what = `${req.runtime}/${req.workload}`;
  const step = { workload: req.workload, runtime: req.runtime, migrationId: c.migrationId };
  return runPrecopyRounds(
    precopyPolicy(req.precopy),
    {
      // One attempt only: an attempt that failed may already have reset the dirty bits, so
      // redoing the round against the same parent could miss pages. The loop then ends the
      // rounds and the final dump is a full one.
      preDump: (round) =>
        source.once.preDump.executeWithOptions(
          {
            summary: `pre-copy round ${round} of ${what} on ${req.source}${round > 1 ? ` (pages dirtied since round ${round - 1})` : ' (all memory)'}`,
          },
          [{ ...step, round }],
        ),
      ship: (round) =>
        source.long.shipPrecopyRounds.executeWithOptions(
          {
            summary: `ship pre-copy round ${round} of ${what}: ${req.source} → ${req.destination} (rsync over SSH)`,
          },
          [{ ...step, destination: req.destination }],
        ),
      onRound: c.onRound,
      // What the final dump would fail on too ends the migration here: each more dump freezes it.
      isFatal: (err) => {
        if (isCancelled(err)) return true;
        const type = describeCause(err).type;
        return (
          type === ErrorType.WorkloadNotRunning ||
          type === ErrorType.NotCheckpointable ||
          type === ErrorType.InsufficientSpace ||
          type === 'Cancelled'
        );
      },
      describe: (err) => {
        const d = describeCause(err);
        return `${d.type}: ${d.message}`;
      },
    },
    c.summary,
  );
}
