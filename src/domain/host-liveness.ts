// Whether a host's worker is up, and how ferry says so. Pure: the client measures, this judges.
//
// Temporal's pollers' lastAccessTime alone cannot tell a live idle worker from a killed one in
// seconds: the server stamps it when a poll arrives, and an idle worker's long poll lasts up to
// 60 s, so a live worker reads 0-60 s (measured: a saw-tooth 0 → 59 s, docs/hosts.md), while a
// killed worker's last poll is listed for minutes. So lastAccessTime rules out a worker not seen
// for longer than a poll lasts, and a probe (the hostInfo step, a few seconds to be picked up)
// decides for the others.

/** A live worker polls again at least this often (the server's 60 s long poll plus slack). */
export const POLLER_STALE_AFTER_S = 70;

/** How long the probe's step may wait for the host's worker to pick it up. */
export const PROBE_PICKUP_S = 4;

/** What DescribeTaskQueue says about a host's queue: when each poller was seen last (epoch ms). */
export interface PollerSeen {
  identity?: string;
  lastAccessMs?: number;
}

/** Seconds since the most recent poll, undefined when no poller is listed. */
export function lastPollAgoS(pollers: PollerSeen[], nowMs: number): number | undefined {
  const seen = pollers.map((p) => p.lastAccessMs).filter((t): t is number => typeof t === 'number');
  if (seen.length === 0) return pollers.length ? 0 : undefined;
  return Math.max(0, Math.round((nowMs - Math.max(...seen)) / 1000));
}

/** Whether the pollers alone prove the worker gone (none, or none recent); else ask the probe. */
export function pollersRuleOut(agoS: number | undefined, host: string): string | undefined {
  if (agoS === undefined) return `nothing polls its task queue ferry-host-${host}`;
  if (agoS > POLLER_STALE_AFTER_S)
    return `it last polled ${agoS} s ago (a live worker polls at least every ${POLLER_STALE_AFTER_S} s)`;
  return undefined;
}

/** Why the probe says down: the step was not picked up in time, or the probe could not run. */
export function probeDownReason(
  kind: 'not-picked-up' | 'no-workflow-worker' | 'failed',
  detail?: string,
): string {
  if (kind === 'not-picked-up')
    return `it did not pick up a probe within ${PROBE_PICKUP_S} s (stopped or hung)`;
  if (kind === 'no-workflow-worker')
    return 'no ferry worker of any host runs workflows, so nothing ran the probe';
  return `it failed the probe${detail ? `: ${detail}` : ''}`;
}

/** The command that starts a host's worker, as operators type it. */
export function workerCommand(host: string, configFile?: string): string {
  return `ferry worker --host ${host} --config ${configFile ?? 'FILE'}`;
}

/** The refusal of a request that needs a host whose worker is down. */
export function workerDownMessage(role: string, host: string, why: string, configFile?: string): string {
  return `${role} host ${host} has no running ferry worker: ${why}. Start it on ${host} with: ${workerCommand(host, configFile)}`;
}

/** Marks a timeout message that names its host (describeCause keeps it as it is). */
export const NAMED_HOST_TIMEOUT = "'s worker ";

/**
 * A host step that timed out, as a workflow reports it: it names the host, which Temporal's own
 * timeout does not. SCHEDULE_TO_START: no worker picked it up; HEARTBEAT: the worker stopped
 * answering while it ran (killed, or the host went away); the others: it ran out of time.
 */
export function stepTimedOutMessage(host: string, step: string, timeoutType: string): string {
  const start = `start it on ${host} with: ${workerCommand(host)}`;
  if (timeoutType === 'SCHEDULE_TO_START')
    return `${host}${NAMED_HOST_TIMEOUT}did not pick up the step ${step} in time (SCHEDULE_TO_START): is it running? If not, ${start}`;
  if (timeoutType === 'HEARTBEAT')
    return `${host}${NAMED_HOST_TIMEOUT}stopped answering during the step ${step} (HEARTBEAT timeout): did it stop? If so, ${start}`;
  return `${host}${NAMED_HOST_TIMEOUT}did not finish the step ${step} within its time limit (${timeoutType}): is it still running? If not, ${start}`;
}
