// A container's image, shipped to a destination that lacks it (docs/runtimes.md): the source
// saves it by id and sends it over the SSH path the checkpoint takes; the destination loads it,
// checks the id and gives it the container's image name. All before the freeze.
import { Context } from '@temporalio/activity';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorType, type ErrorTypeName } from '../domain/errors.js';
import { ferryFailure } from '../domain/failures.js';
import { loadedIdProblem, nameForLoadedImage, shortImageId } from '../domain/images.js';
import type { RuntimeName } from '../domain/names.js';
import { CommandError } from '../exec/run.js';
import { killCommands } from '../host/stale-commands.js';
import { ContainerEngineRuntime, type EngineInspect } from '../runtimes/container-engine.js';
import { rsyncFile, type RsyncProgress } from '../transfer/rsync.js';
import { heartbeat, withHeartbeat } from './heartbeat.js';
import type { HostContext } from './host-context.js';
import { withSlot } from './slots.js';
import type { ImageRef, LoadImageInput, NameImageInput, SendImageInput } from './inputs.js';
import { hostSshOptions } from './transfer.js';

export interface ImageSent {
  archiveBytes: number;
  bytesSent: number;
  saveMs: number;
  shipMs: number;
}

/** Only container engines have images; the workflow asks only for workloads with one. */
function engineOf(ctx: HostContext, runtime: RuntimeName): ContainerEngineRuntime<EngineInspect> {
  const rt = ctx.runtime(runtime);
  if (!(rt instanceof ContainerEngineRuntime))
    throw ferryFailure(ErrorType.InvalidInput, `${runtime} workloads have no container image to ship`);
  return rt;
}

/** A failed engine command or rsync, typed: a full disk is not worth a retry. */
function failed(what: string, err: unknown, type: ErrorTypeName = ErrorType.CommandFailed): Error {
  const text = err instanceof CommandError ? `${err.message}\n${err.stderr}` : String(err);
  const full = /No space left on device[^\n]*/i.exec(text)?.[0];
  if (full) return ferryFailure(ErrorType.InsufficientSpace, `${what}: ${full}`);
  return ferryFailure(type, `${what}: ${err instanceof Error ? err.message : text}`);
}

export function imageActivities(ctx: HostContext) {
  const host = ctx.host.name;

  /** The container's image name on this host, for the image with that id. */
  async function giveName(engine: ContainerEngineRuntime<EngineInspect>, input: NameImageInput) {
    const { tag } = nameForLoadedImage(input.image, input.imageId);
    if (tag) await engine.tagImage(input.imageId, tag);
  }

  return {
    /** Destination: whether it has the exact image (by id) already, under any name or none. */
    hasImage: (input: ImageRef): Promise<boolean> => engineOf(ctx, input.runtime).hasImageId(input.imageId),

    /**
     * Source: saves the image by id into the migration's folder (0600) and sends it to the same
     * place on the destination; the local archive goes once it is there.
     */
    sendImage: (input: SendImageInput): Promise<ImageSent> =>
      withSlot(ctx, 'transfer', () => sendImage(input)),

    /**
     * Destination: loads the archive the source sent, checks that it is the image the container
     * runs there (same id), gives it the container's image name; the archive goes.
     */
    loadImage: (input: LoadImageInput): Promise<{ loadMs: number }> =>
      withSlot(ctx, 'transfer', () => loadImage(input)),

    /** Destination: it has the image under another name; the container's name is added. */
    async nameImage(input: NameImageInput): Promise<void> {
      await giveName(engineOf(ctx, input.runtime), input);
    },

    /**
     * Destination, once a migration ended before the freeze: the image it loaded here (it did
     * not exist before) goes again. Never by force: an image a container uses by now stays.
     */
    async removeShippedImage(input: ImageRef): Promise<{ removed: boolean; keptBecause?: string }> {
      const keptBecause = await engineOf(ctx, input.runtime).removeImage(input.imageId);
      return keptBecause ? { removed: false, keptBecause } : { removed: true };
    },
  };

  async function sendImage(input: SendImageInput): Promise<ImageSent> {
    const engine = engineOf(ctx, input.runtime);
    const dest = ctx.peer(input.destination);
    const file = ctx.paths.imageArchive(input.migrationId);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // A save or rsync an earlier attempt started may still run (its worker was killed).
    await killCommands(file);
    const savedAt = Date.now();
    await withHeartbeat(() => engine.saveImage(input.imageId, file)).catch((err: unknown) => {
      throw failed(`${input.runtime} save of image ${shortImageId(input.imageId)} on ${host}`, err);
    });
    const archiveBytes = (await stat(file)).size;
    const sentAt = Date.now();
    let progress: RsyncProgress | undefined;
    const details = () => ({ phase: 'ship-image', ...progress });
    const { bytesSent } = await withHeartbeat(
      async () =>
        rsyncFile(
          {
            fromRoot: ctx.paths.stateDir,
            path: path.relative(ctx.paths.stateDir, file),
            to: dest.ssh,
            toRoot: dest.stateDir,
            timeoutMs: 60 * 60_000,
          },
          await hostSshOptions(ctx),
          (p) => {
            progress = p;
            heartbeat(details());
          },
          Context.current().cancellationSignal,
        ),
      details,
    ).catch((err: unknown) => {
      const what = `sending image ${shortImageId(input.imageId)} from ${host} to ${dest.name}`;
      throw failed(what, err, ErrorType.TransferFailed);
    });
    const done = Date.now();
    await rm(file, { force: true });
    return { archiveBytes, bytesSent, saveMs: sentAt - savedAt, shipMs: done - sentAt };
  }

  async function loadImage(input: LoadImageInput): Promise<{ loadMs: number }> {
    const engine = engineOf(ctx, input.runtime);
    const file = ctx.paths.imageArchive(input.migrationId);
    const before = new Set(await engine.imageIds());
    const startedAt = Date.now();
    const loaded = await withHeartbeat(() => engine.loadImage(file)).catch((err: unknown) => {
      throw failed(`${input.runtime} load of image ${input.image} on ${host}`, err);
    });
    const loadMs = Date.now() - startedAt;
    const problem = loadedIdProblem(loaded.ids, input.imageId);
    if (problem) {
      // What this load created is nobody's: it goes again (an image that was here stays).
      for (const id of loaded.ids) if (!before.has(id)) await engine.removeImage(id);
      throw ferryFailure(
        ErrorType.ImageMismatch,
        `${input.runtime} on ${host} did not get the image ${input.image} runs from: ${problem}. ` +
          `The archive changed on the way, or the two hosts' engines disagree on image ids; nothing was frozen. ` +
          `Load the image on ${host} yourself (${input.runtime} load -i IMAGE.tar) and migrate again`,
      );
    }
    await giveName(engine, input);
    await rm(file, { force: true });
    await ctx.faults.at('after-load-image', input.workload);
    return { loadMs };
  }
}
