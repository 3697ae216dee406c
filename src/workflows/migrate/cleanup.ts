// What a migration removes, and when: before the freeze, after success, and later when a host
// did not answer. Only what this migration put there.
import { log, ParentClosePolicy, startChild } from '@temporalio/workflow';
import { imageShipmentFigure } from '../../domain/images.js';
import { isCancelled, retryable } from '../../domain/failures.js';
import type { MigrationResult } from '../../domain/types.js';
import { cleanupLeftovers } from '../cleanup-leftovers.js';
import { bestEffort } from '../host-steps.js';
import { nonCancellable, type Migration } from './context.js';

/**
 * The one ending of a migration that stops before anything was lost: the workload runs on the
 * source, unfrozen (or was never frozen). Removes what the migration left on both hosts.
 */
export function endBeforeFreeze(m: Migration, err: unknown): Promise<MigrationResult> {
  return nonCancellable(async () => {
    await cleanUpDestinationBeforeFreeze(m);
    // Presync, pre-copy rounds and a shipped image wrote on the source; a failed preflight did not.
    if (m.run.ran('presync') || m.run.ran('ship-image'))
      await bestEffort('remove the source images', m.src.quick.removeMigrationFiles({ migrationId: m.id }));
    return m.run.finish(
      isCancelled(err) ? 'cancelled' : refusal(m, err) ? 'refused' : 'failed-before-freeze',
      err,
    );
  });
}

/**
 * Refused: a preflight answered no for a reason that asking again cannot change (the workload
 * is not there, the destination lacks its image, …). A host that did not answer is a failure.
 */
const refusal = (m: Migration, err: unknown): boolean =>
  m.run.progress.phases.length === 1 && m.run.ran('preflight') && !retryable(err);

/** The destination preflight may have created the migration's folder even when the source's failed. */
export async function cleanUpDestinationBeforeFreeze(m: Migration): Promise<void> {
  // The preflight refused if a copy was running there: any copy now is the presync's.
  await bestEffort('remove the destination images', m.dst.quick.removeMigrationFiles({ migrationId: m.id }));
  if (m.run.ran('presync')) await bestEffort('remove the presynced files', m.dst.quick.removeWorkload(m.ref));
  await removeShippedImage(m);
}

/**
 * An image ferry loaded on the destination for this migration did not exist there before: it
 * goes with the migration (docs/runtimes.md). One that was there, or one a container uses by
 * now, stays. After the migration files: their removal stops a load still running.
 */
async function removeShippedImage(m: Migration): Promise<void> {
  const image = m.run.result.image;
  if (!image?.createdOnDestination) return;
  await bestEffort(
    'remove the image shipped to the destination',
    m.dst.quick.removeShippedImage
      .executeWithOptions(
        { summary: `remove image ${image.image} that ${m.what} no longer needs from ${m.req.destination}` },
        [{ ...m.ref, imageId: image.imageId }],
      )
      .then((r) => {
        image.removedAfterFailure = r.removed;
        if (!r.removed) log.warn('the shipped image stays on the destination', { reason: r.keptBecause });
        m.run.figures['ship-image'] = imageShipmentFigure(image);
      }),
  );
}

/** Success: the source copy and the images go; a cancel that arrives now is too late to matter. */
export async function cleanUpAfterSuccess(m: Migration): Promise<void> {
  const { req, what } = m;
  const keepImages = req.keepImages ?? false;
  await nonCancellable(() =>
    m.run.phase('cleanup', () =>
      bestEffort(
        'cleanup after a successful migration (files remain)',
        Promise.all([
          m.src.cleanup.cleanupMigration.executeWithOptions(
            { summary: `remove ${what} and its images from ${req.source}` },
            [{ ...m.step, removeWorkloadFiles: true, keepImages }],
          ),
          m.dst.cleanup.cleanupMigration.executeWithOptions(
            { summary: `remove images of ${what} from ${req.destination}` },
            [{ ...m.step, removeWorkloadFiles: false, keepImages }],
          ),
        ]),
      ),
    ),
  );
}

/** An abandoned child waits for the destination's worker to return, then removes the leftovers. */
export async function cleanUpDestinationLater(m: Migration): Promise<void> {
  await startChild(cleanupLeftovers, {
    workflowId: `cleanup-${m.id}`,
    args: [{ host: m.req.destination, workload: m.req.workload, runtime: m.req.runtime, migrationId: m.id }],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `remove what migration ${m.id} left on ${m.req.destination} once it is back`,
  });
}
