// What the podman and docker adapters share: both CLIs list containers the same way and their
// `inspect` records agree on the fields ferry reads.
import type { RuntimeName } from '../domain/names.js';
import type { WorkloadInfo } from '../domain/types.js';
import { fromContainerLabels, toContainerLabels } from './container-labels.js';
import { treeRssBytes } from '../host/procfs.js';
import type { SpawnOptions, Unfit } from './runtime.js';

/** The part of `podman|docker container inspect` both engines print alike. */
export interface EngineInspect {
  State: { Running: boolean; Pid: number; Status: string };
  Config: { Labels?: Record<string, string> | null };
  Mounts?: { Type: string; Source: string; Destination: string; Name?: string }[];
}

/** Container names from `ps -a --format {{.Names}}`. */
export function containerNames(psOutput: string): string[] {
  return psOutput
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A container's WorkloadInfo: state, memory, ferry labels, and what it needs on a destination. */
export async function engineWorkloadInfo(
  runtime: RuntimeName,
  name: string,
  c: EngineInspect,
  image: string,
): Promise<WorkloadInfo> {
  const running = c.State.Running;
  return {
    name,
    runtime,
    running,
    pid: running ? c.State.Pid : undefined,
    rssBytes: running ? await treeRssBytes(c.State.Pid) : undefined,
    labels: fromContainerLabels(c.Config.Labels),
    needs: {
      image,
      hostPaths: (c.Mounts ?? []).filter((m) => m.Type === 'bind').map((m) => m.Source),
    },
  };
}

/** `run` arguments of a dev-environment container: detached, no network, ferry's labels. */
export function runArgs(name: string, opts: SpawnOptions, defaultImage: string): string[] {
  // No network: a simulated host's containers must not share a bridge with the others'.
  return [
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'none',
    ...toContainerLabels(opts.labels),
    opts.image ?? defaultImage,
    ...opts.argv,
  ];
}

/** The destination lacks the container's image: what to run to fix it. */
export async function missingImage(
  engine: 'podman' | 'docker',
  host: string,
  image: string | undefined,
  exists: (image: string) => Promise<unknown>,
  recreatedBy: string,
): Promise<Unfit[]> {
  if (!image) return [];
  const has = await exists(image).then(
    () => true,
    () => false,
  );
  return has
    ? []
    : [
        {
          type: 'ImageMissing',
          message: `${engine} image ${image} is not on ${host}: load it there first (${engine} load -i IMAGE.tar, ${engine} pull, or in the dev environment: ferry dev load-image --host ${host}); ${recreatedBy}`,
        },
      ];
}
