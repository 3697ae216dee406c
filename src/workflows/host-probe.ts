// hostProbe: asks each host's worker for its hostInfo, with a few seconds for the step to be
// picked up. A host whose worker is down answers nothing in time: Temporal lists a dead poller
// for minutes, this notices within PROBE_PICKUP_S (docs/hosts.md).
import { describeCause, neverStarted } from '../domain/failures.js';
import { probeDownReason } from '../domain/host-liveness.js';
import type { HostInfo } from '../domain/types.js';
import { hostSteps } from './host-steps.js';

export interface HostProbeAnswer {
  host: string;
  /** The worker's answer; absent when it gave none (down says why). */
  info?: HostInfo;
  down?: string;
}

/** Every host at once; one attempt each: the answer is about now, not after retries. */
export async function hostProbe(input: { hosts: string[] }): Promise<HostProbeAnswer[]> {
  return Promise.all(
    input.hosts.map(async (host): Promise<HostProbeAnswer> => {
      try {
        return { host, info: await hostSteps(host).probe.hostInfo() };
      } catch (err) {
        return {
          host,
          down: neverStarted(err)
            ? probeDownReason('not-picked-up')
            : probeDownReason('failed', describeCause(err).message),
        };
      }
    }),
  );
}
