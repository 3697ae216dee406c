// The host's cgroup layout, read from /proc/self/mountinfo (pure: unit-tested), and which
// layouts a checkpoint can move between (docs/cgroups.md).
import type { RuntimeName } from './names.js';

/**
 * v1: only per-controller hierarchies; hybrid: those plus an empty cgroup2 beside them
 * (systemd's /sys/fs/cgroup/unified); v2: only the unified hierarchy at /sys/fs/cgroup;
 * none: no cgroup file system mounted there.
 */
export const CGROUP_LAYOUTS = ['v1', 'hybrid', 'v2', 'none'] as const;
export type CgroupLayout = (typeof CGROUP_LAYOUTS)[number];

const ROOT = '/sys/fs/cgroup';

/** The layout /sys/fs/cgroup has, from the text of /proc/self/mountinfo. */
export function classifyCgroupLayout(mountinfo: string): CgroupLayout {
  let unifiedAtRoot = false;
  let unifiedBeside = false;
  let v1 = false;
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = left.split(' ')[4];
    const fsType = right.split(' ')[0];
    if (!mountPoint || (mountPoint !== ROOT && !mountPoint.startsWith(`${ROOT}/`))) continue;
    if (fsType === 'cgroup2') {
      if (mountPoint === ROOT) unifiedAtRoot = true;
      else unifiedBeside = true;
    } else if (fsType === 'cgroup') v1 = true;
  }
  if (unifiedAtRoot && !v1) return 'v2';
  if (v1) return unifiedBeside || unifiedAtRoot ? 'hybrid' : 'v1';
  return unifiedBeside ? 'hybrid' : 'none';
}

/** Whether a runtime's checkpoint carries its cgroups (runc and the engines restore them per hierarchy). */
const RESTORES_CGROUPS: Readonly<Record<RuntimeName, boolean>> = {
  process: false,
  runc: true,
  podman: true,
  docker: true,
};

/**
 * Undefined when a checkpoint of this runtime taken on a host with layout `source` can be
 * restored on one with layout `destination`; otherwise why not, naming both layouts and the fix.
 * CRIU restores a container's cgroups per hierarchy, as it found them: a v1 controller set has
 * no place on a v2 host and the other way round. Process workloads are restored without their
 * cgroups when the layouts differ (process-runtime.ts): they move.
 */
export function cgroupLayoutRefusal(
  runtime: RuntimeName,
  source: { host: string; layout?: CgroupLayout },
  destination: { host: string; layout?: CgroupLayout },
): string | undefined {
  // A worker older than this check does not say: nothing to compare.
  if (!source.layout || !destination.layout) return undefined;
  if (source.layout === destination.layout || !RESTORES_CGROUPS[runtime]) return undefined;
  return `${source.host} has cgroup ${source.layout} and ${destination.host} has cgroup ${destination.layout}: CRIU restores a ${runtime} container's cgroups per hierarchy as they were dumped, so a checkpoint taken under cgroup ${source.layout} cannot be restored under cgroup ${destination.layout}. Pick a destination with cgroup ${source.layout}, or boot ${destination.host} with it (${BOOT_INTO[source.layout]}; docs/cgroups.md)`;
}

/** How a systemd host is booted into each layout (kernel command line). */
const BOOT_INTO: Readonly<Record<CgroupLayout, string>> = {
  v2: 'systemd.unified_cgroup_hierarchy=1 on its kernel command line',
  hybrid: 'systemd.unified_cgroup_hierarchy=0 on its kernel command line',
  v1: 'systemd.unified_cgroup_hierarchy=0 systemd.legacy_systemd_cgroup_controller=1 on its kernel command line',
  none: 'no cgroup file system mounted at /sys/fs/cgroup',
};
