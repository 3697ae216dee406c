// Stages 1-2 (docs/architecture.md): preflight on both hosts, the container's image if the
// destination lacks it, then the workload's files and, in pre-copy mode, its memory in rounds.
// Nothing is frozen yet.
import { ApplicationFailure, log } from '@temporalio/workflow';
import { ErrorType } from '../../domain/errors.js';
import { describeCause } from '../../domain/failures.js';
import { imageShipmentFigure, nameForLoadedImage, shipImageHint, shortImageId } from '../../domain/images.js';
import { chooseMode } from '../../domain/modes.js';
import { cgroupLayoutRefusal } from '../../domain/cgroup-layout.js';
import { imageSpaceNeeded } from '../../domain/placement.js';
import type { PrecopySummary } from '../../domain/precopy.js';
import type { ImageShipment, WorkloadNeeds } from '../../domain/types.js';
import { precopyBeforeFreeze } from '../precopy-step.js';
import type { Migration } from './context.js';
import type { ImageToShip } from './run-state.js';
import { mib, rate } from './format.js';

/** Both hosts at once; decides the mode. Throws a typed, non-retryable failure when refused. */
export async function preflight(m: Migration): Promise<void> {
  const { req, what, run, src, dst } = m;
  await run.phase('preflight', async () => {
    const [sourceCheck, destinationCheck] = await Promise.allSettled([
      src.quick.preflightSource.executeWithOptions(
        { summary: `preflight ${what} on ${req.source} (source)` },
        // The request's CRIU options: what a dump with them would refuse is refused now, unfrozen.
        [
          {
            ...m.ref,
            mode: req.mode,
            adopt: req.adopt,
            criu: m.step.criu,
            checkpointable: m.step.criu ?? {},
            peer: req.destination,
          },
        ],
      ),
      dst.quick.preflightDestination.executeWithOptions(
        { summary: `preflight ${what} on ${req.destination} (destination)` },
        [{ ...m.step, mode: req.mode, replaceStopped: req.replaceStopped }],
      ),
    ]);
    // The source's answer comes first: what is wrong there is the problem to report.
    if (sourceCheck.status === 'rejected') throw sourceProblem(m, sourceCheck.reason, destinationCheck);
    if (destinationCheck.status === 'rejected') throw destinationCheck.reason;
    const source = sourceCheck.value;
    const destination = destinationCheck.value;
    if (destination.replacing) (run.result.notes ??= []).push(destination.replacing.note);
    run.result.criuVersions = { source: source.facts.criuVersion, destination: destination.criuVersion };
    run.memoryBytes = source.workload.rssBytes ?? 0;
    run.figures.preflight = `${mib(run.memoryBytes)} MiB resident, CRIU ${source.facts.criuVersion} → ${destination.criuVersion}, cgroup ${source.facts.cgroupLayout} → ${destination.cgroupLayout}`;
    const layouts = cgroupLayoutRefusal(
      req.runtime,
      { host: req.source, layout: source.facts.cgroupLayout },
      { host: req.destination, layout: destination.cgroupLayout },
    );
    if (layouts) throw ApplicationFailure.nonRetryable(layouts, ErrorType.CgroupLayoutMismatch);
    // What the workload needs there (its image, bind-mounted paths) is known only now.
    const needs = source.workload.needs;
    if (needs && (needs.image || needs.hostPaths?.length)) run.imageToShip = await destinationFit(m, needs);
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

/**
 * Undefined when the destination has what the workload needs. When it lacks only the image and
 * the request lets ferry ship it: what to ship (after the preflight, in its own phase). Anything
 * else is refused here, before anything was done.
 */
async function destinationFit(m: Migration, needs: WorkloadNeeds): Promise<ImageToShip | undefined> {
  const { req, what } = m;
  const check = (n: WorkloadNeeds, summary: string) =>
    m.dst.quick.checkDestinationFit.executeWithOptions({ summary }, [{ ...m.ref, needs: n }]);
  try {
    await check(
      needs,
      `check ${req.destination} has what ${what} needs${needs.image ? ` (image ${needs.image})` : ''}`,
    );
    return undefined;
  } catch (err) {
    const cause = describeCause(err);
    if (cause.type !== ErrorType.ImageMissing || !needs.image) throw err;
    const refuse = (more: string) =>
      ApplicationFailure.nonRetryable(`${cause.message}; ${more}`, ErrorType.ImageMissing);
    if (req.shipImage === false) throw refuse(shipImageHint(req.source));
    // Shipping is worth it only when the image is all that is missing there.
    if (needs.hostPaths?.length)
      await check({ hostPaths: needs.hostPaths }, `check ${req.destination} has the paths ${what} mounts`);
    const cannot = !needs.imageId
      ? `${req.source} did not say which image id the container runs, so ferry cannot ship it`
      : nameForLoadedImage(needs.image, needs.imageId).reason;
    if (cannot || !needs.imageId) throw refuse(cannot ?? 'ferry cannot ship it');
    return { image: needs.image, imageId: needs.imageId, needs };
  }
}

/**
 * The container's image, when the destination lacked it: saved on the source by id, sent over
 * the SSH path of the checkpoint, loaded on the destination and checked there by id, named as
 * the container's image; then the destination's fit is checked again. Nothing is frozen.
 */
export async function shipImage(m: Migration): Promise<void> {
  const { req, what, run } = m;
  const ship = run.imageToShip;
  if (!ship) return;
  const id = shortImageId(ship.imageId);
  const ref = { ...m.ref, image: ship.image, imageId: ship.imageId };
  const record: ImageShipment = {
    image: ship.image,
    imageId: ship.imageId,
    shipped: false,
    createdOnDestination: false,
  };
  await run.phase('ship-image', async () => {
    const there = await m.dst.quick.hasImage.executeWithOptions(
      { summary: `is image ${id} on ${req.destination} under another name than ${ship.image}?` },
      [ref],
    );
    // Recorded once the way is known: the figure and the cleanup read it from here on.
    run.result.image = record;
    try {
      if (there)
        await m.dst.quick.nameImage.executeWithOptions(
          { summary: `name image ${id} ${ship.image} on ${req.destination}` },
          [ref],
        );
      else {
        record.shipped = true;
        // Known before the load starts: a cancel during it still removes what it created.
        record.createdOnDestination = true;
        const sent = await m.src.long.sendImage.executeWithOptions(
          {
            summary: `ship image ${ship.image} (${id}) of ${what}: save on ${req.source}, rsync to ${req.destination}`,
          },
          [{ ...m.step, imageId: ship.imageId, destination: req.destination }],
        );
        Object.assign(record, sent);
        run.sent(sent.bytesSent);
        const loaded = await m.dst.long.loadImage.executeWithOptions(
          { summary: `load image ${ship.image} on ${req.destination}, check its id is ${id}` },
          [{ ...m.step, image: ship.image, imageId: ship.imageId }],
        );
        record.loadMs = loaded.loadMs;
      }
    } finally {
      run.figures['ship-image'] = imageShipmentFigure(record);
    }
    await m.dst.quick.checkDestinationFit.executeWithOptions(
      { summary: `check again that ${req.destination} has what ${what} needs (image ${ship.image})` },
      [{ ...m.ref, needs: ship.needs }],
    );
  });
}

/**
 * A workload missing on the source that runs on the destination was given the wrong --from:
 * say where it runs (the destination's own advice, to remove it there, would delete the only copy).
 */
function sourceProblem(m: Migration, err: unknown, destination: PromiseSettledResult<unknown>): unknown {
  const missing = describeCause(err).type;
  const there =
    destination.status === 'rejected' &&
    describeCause(destination.reason).type === ErrorType.WorkloadAlreadyOnDestination;
  if ((missing !== ErrorType.WorkloadNotFound && missing !== ErrorType.WorkloadNotRunning) || !there)
    return err;
  const { req } = m;
  return ApplicationFailure.nonRetryable(
    `${m.what} does not run on ${req.source} but runs on ${req.destination}: it is already there, nothing was changed. ` +
      `To move it elsewhere, name where it runs: --from ${req.destination} --to OTHER-HOST`,
    ErrorType.WorkloadNotFound,
  );
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
