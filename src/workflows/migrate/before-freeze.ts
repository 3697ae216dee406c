// Stages 1-2 (docs/architecture.md): preflight on both hosts, then the workload's files and,
// in pre-copy mode, its memory in rounds. Nothing is frozen yet.
import { ApplicationFailure, log } from '@temporalio/workflow';
import { ErrorType } from '../../domain/errors.js';
import { chooseMode } from '../../domain/modes.js';
import { imageSpaceNeeded } from '../../domain/placement.js';
import type { PrecopySummary } from '../../domain/precopy.js';
import { precopyBeforeFreeze } from '../precopy-step.js';
import type { Migration } from './context.js';
import { mib, rate } from './format.js';

/** Both hosts at once; decides the mode. Throws a typed, non-retryable failure when refused. */
export async function preflight(m: Migration): Promise<void> {
  const { req, what, run, src, dst } = m;
  await run.phase('preflight', async () => {
    const [source, destination] = await Promise.all([
      src.quick.preflightSource.executeWithOptions(
        { summary: `preflight ${what} on ${req.source} (source)` },
        // The request's CRIU options: what a dump with them would refuse is refused now, unfrozen.
        [{ ...m.ref, mode: req.mode, checkpointable: m.step.criu ?? {} }],
      ),
      dst.quick.preflightDestination.executeWithOptions(
        { summary: `preflight ${what} on ${req.destination} (destination)` },
        [{ ...m.step, mode: req.mode }],
      ),
    ]);
    run.result.criuVersions = { source: source.facts.criuVersion, destination: destination.criuVersion };
    run.memoryBytes = source.workload.rssBytes ?? 0;
    run.figures.preflight = `${mib(run.memoryBytes)} MiB resident, CRIU ${source.facts.criuVersion} → ${destination.criuVersion}`;
    // What the workload needs there (its image, bind-mounted paths) is known only now.
    const needs = source.workload.needs;
    if (needs && (needs.image || needs.hostPaths?.length))
      await dst.quick.checkDestinationFit.executeWithOptions(
        {
          summary: `check ${req.destination} has what ${what} needs${needs.image ? ` (image ${needs.image})` : ''}`,
        },
        [{ ...m.ref, needs }],
      );
    const needed = imageSpaceNeeded(run.memoryBytes);
    if (destination.freeBytes < needed)
      throw ApplicationFailure.nonRetryable(
        `${req.destination} has ${mib(destination.freeBytes)} MiB free, ${what} needs about ${mib(needed)} MiB for its images`,
        ErrorType.InsufficientSpace,
      );
    const choice = chooseMode(req.mode ?? 'auto', {
      capabilities: m.caps,
      rssBytes: run.memoryBytes,
      dirtyTracking: source.facts.dirtyTracking,
      dirtyTrackingReason: source.facts.dirtyTrackingReason,
      postcopyUnavailable:
        [source.facts.postcopyUnavailable, destination.postcopyUnavailable].filter(Boolean).join('; ') ||
        undefined,
    });
    if (!choice.ok) throw ApplicationFailure.nonRetryable(choice.reason, ErrorType.ModeUnavailable);
    run.mode = choice.mode;
    run.result.mode = choice.mode;
    run.result.modeReason = choice.reason;
    if (source.facts.kernel !== destination.kernel)
      log.warn('source and destination kernels differ', {
        source: source.facts.kernel,
        destination: destination.kernel,
      });
  });
}

/** The workload's files (bundle, rootfs changes) while it runs. */
export async function presync(m: Migration): Promise<void> {
  const { req, what, run } = m;
  await run.phase('presync', async () => {
    const r = await m.src.long.presync.executeWithOptions(
      { summary: `pre-copy files of ${what}: ${req.source} → ${req.destination}` },
      [{ ...m.step, destination: req.destination }],
    );
    run.sent(r.bytesSent);
    run.figures.presync = `${mib(r.bytesSent)} MiB sent${rate(r.bytesSent, r.durationMs)}`;
  });
}

/** Pre-copy rounds (docs/precopy.md), only in pre-copy mode. */
export async function precopy(m: Migration): Promise<void> {
  const { run } = m;
  if (run.mode !== 'precopy') return;
  const summary: PrecopySummary = { rounds: [] };
  run.result.precopy = summary;
  await run.phase('precopy', () =>
    precopyBeforeFreeze({
      req: m.req,
      migrationId: m.id,
      source: m.src,
      summary,
      onRound: () => run.refresh(),
    }),
  );
  run.sent(summary.rounds.reduce((sum, r) => sum + r.bytesSent, 0));
}
