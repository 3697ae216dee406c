// `ferry dev load-image --image NAME [--file TAR]`: any local image into a simulated host's
// podman and/or docker store. From this machine's own podman or docker (their default stores)
// or from a tar: an image archive (`podman save` / `docker save`, OCI or docker format) is
// loaded, a root filesystem tar is imported under NAME. No registry is involved.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { shortImageId } from '../domain/images.js';
import { run } from '../exec/run.js';
import { HostPaths } from '../host/host-paths.js';
import { ContainerEngineRuntime, type EngineInspect, type EngineName } from '../runtimes/container-engine.js';
import { createRuntime, type RuntimeContext } from '../runtimes/index.js';

export type Engine = ContainerEngineRuntime<EngineInspect>;

export interface LoadedImage {
  engine: EngineName;
  image: string;
  imageId: string;
}

/** What a tar holds, from its member names: an image archive (docker or OCI layout) or a root filesystem. */
export function tarKind(members: readonly string[]): 'image-archive' | 'rootfs' {
  const top = new Set(members.map((m) => m.replace(/^\.\//, '').replace(/\/$/, '')));
  return top.has('manifest.json') || (top.has('index.json') && top.has('oci-layout'))
    ? 'image-archive'
    : 'rootfs';
}

/** An engine adapter for these settings (the machine's own when ctx has none). */
export function engineFor(name: EngineName, ctx: RuntimeContext): Engine {
  const rt = createRuntime(name, ctx);
  if (!(rt instanceof ContainerEngineRuntime)) throw new Error(`${name} is not a container engine`);
  return rt;
}

/** This machine's own podman and docker, with their default stores and socket. */
const machineEngine = (name: EngineName, scratch: string): Engine =>
  engineFor(name, { host: 'this machine', paths: new HostPaths(scratch) });

/**
 * Loads image (from this machine's stores) or file into each target engine; the image gets the
 * name asked for. Returns what each engine has now.
 */
export async function loadImageInto(
  targets: { name: EngineName; engine: Engine }[],
  opts: { image?: string; file?: string; scratchRoot?: string },
): Promise<LoadedImage[]> {
  // Archives can be large: next to the dev environment rather than in a small /tmp.
  const scratch = await mkdtemp(path.join(opts.scratchRoot ?? os.tmpdir(), 'load-image-'));
  try {
    const kind = opts.file ? tarKind((await run('tar', ['-tf', opts.file])).stdout.split('\n')) : undefined;
    if (kind === 'rootfs' && !opts.image)
      throw new Error(
        `${opts.file} is a root filesystem tar, not an image archive: name the image with --image NAME`,
      );
    const exported = new Map<EngineName, string>();
    const loaded: LoadedImage[] = [];
    for (const { name, engine } of targets) {
      let ids: string[];
      if (kind === 'rootfs') ids = [await engine.importImage(opts.file!, opts.image!)];
      else {
        const archive = opts.file ?? (await exportFromMachine(opts.image!, name, scratch, exported));
        ids = (await engine.loadImage(archive)).ids;
      }
      if (opts.image) {
        if (ids.length !== 1)
          throw new Error(
            `${opts.file ?? opts.image} holds ${ids.length} images (${ids.map(shortImageId).join(', ')}): which one is ${opts.image}? Save that one alone`,
          );
        await engine.tagImage(ids[0]!, opts.image);
      }
      for (const imageId of ids) loaded.push({ engine: name, image: opts.image ?? imageId, imageId });
    }
    return loaded;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * An archive of image from this machine's own store: the same engine's first (same image id),
 * else the other's (both read docker-archive). Saved by id, once per source engine.
 */
async function exportFromMachine(
  image: string,
  prefer: EngineName,
  scratch: string,
  exported: Map<EngineName, string>,
): Promise<string> {
  const order: EngineName[] = prefer === 'podman' ? ['podman', 'docker'] : ['docker', 'podman'];
  const why: string[] = [];
  for (const from of order) {
    const done = exported.get(from);
    if (done) return done;
    const engine = machineEngine(from, scratch);
    const id = await engine.imageIdOf(image).then(
      (found) => found ?? void why.push(`${from} has no image ${image}`),
      (err: unknown) => void why.push(`${from}: ${(err as Error).message.split('\n')[0]}`),
    );
    if (!id) continue;
    const file = path.join(scratch, `${from}.tar`);
    await engine.saveImage(id, file);
    exported.set(from, file);
    return file;
  }
  throw new Error(
    `image ${image} is not in this machine's podman or docker (${why.join('; ')}): build or import it there first ` +
      `(podman build, podman import ROOTFS.tar ${image}), or give it as a tar: --file IMAGE.tar`,
  );
}
