// Which dump last reset a workload's dirty-page bits (CRIU --track-mem: a snapshot, a pre-copy
// round). An incremental snapshot may only take the previous snapshot as its parent when that
// snapshot is the one that did: any dump in between would hide the pages dirtied before it.
import path from 'node:path';
import type { RuntimeName } from '../domain/names.js';
import { readJson, writeJsonAtomic } from '../runtimes/workload-files.js';
import type { HostPaths } from '../host/host-paths.js';

interface TrackedDump {
  by: string;
  /** The process instance (pid@start time): a restarted or restored workload is another one. */
  incarnation?: string;
  atMs: number;
}

const file = (paths: HostPaths, runtime: RuntimeName, name: string) =>
  path.join(paths.stateDir, 'memory-tracking', `${runtime}-${name}.json`);

export async function noteTrackedDump(
  paths: HostPaths,
  runtime: RuntimeName,
  name: string,
  by: string,
  incarnation?: string,
): Promise<void> {
  await writeJsonAtomic(file(paths, runtime, name), {
    by,
    incarnation,
    atMs: Date.now(),
  } satisfies TrackedDump);
}

export function lastTrackedDump(
  paths: HostPaths,
  runtime: RuntimeName,
  name: string,
): Promise<TrackedDump | undefined> {
  return readJson<TrackedDump>(file(paths, runtime, name));
}
