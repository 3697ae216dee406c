import { mkdir, statfs } from 'node:fs/promises';
import os from 'node:os';
import { criuVersionQuick } from '../criu/criu.js';
import type { HostInfo } from '../domain/types.js';
import { ferryVersion } from '../host/ferry-version.js';
import type { HostContext } from './host-context.js';

/** hostInfo: cheap (no criu check), so that it also serves as the worker's liveness probe. */
export function hostInfoActivities(ctx: HostContext) {
  return {
    async hostInfo(): Promise<HostInfo> {
      await mkdir(ctx.paths.stateDir, { recursive: true, mode: 0o700 });
      const [fs, criu] = await Promise.all([statfs(ctx.paths.stateDir), criuVersionQuick()]);
      return {
        host: ctx.host.name,
        ferryVersion: ferryVersion(),
        ...(criu.version ? { criuVersion: criu.version } : { criuProblem: criu.problem }),
        kernel: os.release(),
        runtimes: ctx.host.runtimes,
        stateDir: ctx.paths.stateDir,
        freeBytes: fs.bavail * fs.bsize,
        workerPid: process.pid,
      };
    },
  };
}
