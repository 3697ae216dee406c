// The pre-copy loop (docs/precopy.md). Deterministic and free of Temporal imports: the migrate
// workflow runs it with activities, the guest proof (src/precopy-proof) with direct calls.
import {
  precopyDecision,
  type PrecopyDecision,
  type PrecopyPolicy,
  type PrecopyRound,
  type PrecopySummary,
} from '../domain/precopy.js';

export interface PrecopyLoopSteps {
  /** Pre-dump round n on the source (round n > 1 has round n-1 as parent). */
  preDump(round: number): Promise<PrecopyRound>;
  /** Ship the rounds so far to the destination. */
  ship(round: number): Promise<{ bytesSent: number; durationMs: number }>;
  /** After each round, with the stop rule's verdict (progress, UI). */
  onRound?(round: PrecopyRound, decision: PrecopyDecision): void;
  /** Errors that must end the migration (cancellation, the workload is gone); others end pre-copy only. */
  isFatal(err: unknown): boolean;
  describe(err: unknown): string;
}

/**
 * Rounds until the stop rule says stop. Fills `summary` as it goes (so a query sees each
 * round at once) and returns it; the final dump then uses summary.finalParentRound as parent.
 */
export async function runPrecopyRounds(
  policy: PrecopyPolicy,
  steps: PrecopyLoopSteps,
  summary: PrecopySummary = { rounds: [] },
): Promise<PrecopySummary> {
  for (let n = summary.rounds.length + 1; ; n++) {
    let round: PrecopyRound;
    try {
      const dumped = await steps.preDump(n);
      const shipped = await steps.ship(n);
      round = { ...dumped, bytesSent: shipped.bytesSent, shipMs: shipped.durationMs };
    } catch (err) {
      if (steps.isFatal(err)) throw err;
      summary.failed = `round ${n}: ${steps.describe(err)}`;
      summary.finalParentRound = undefined;
      return summary;
    }
    summary.rounds.push(round);
    const decision = precopyDecision(summary.rounds, policy);
    steps.onRound?.(round, decision);
    if (decision.stop) {
      summary.stopReason = decision.reason;
      summary.stopDetail = decision.detail;
      summary.finalParentRound = n;
      return summary;
    }
  }
}
