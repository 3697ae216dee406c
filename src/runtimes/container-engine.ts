// What the podman and docker adapters share: both CLIs list containers the same way and their
// `inspect` records agree on the fields ferry reads.
import type { RuntimeName } from '../domain/names.js';
import type { WorkloadInfo } from '../domain/types.js';
import { fromContainerLabels } from './container-labels.js';
import { treeRssBytes } from './procfs.js';

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
