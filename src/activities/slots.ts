// Heavy steps take a slot of their host's limit (hosts[].limits, src/host/slots.ts). While a step
// waits it heartbeats where it stands, so the Temporal UI's pending activity (and the client's
// live progress) say "waiting for a CRIU slot on node-a", and its heartbeat timeout never fires.
import { CancelledFailure } from '@temporalio/common';
import { describeSlotWait, SlotAborted, type SlotKind } from '../host/slots.js';
import { activitySignal, heartbeat } from './heartbeat.js';
import type { HostContext } from './host-context.js';

/** Heartbeat details of a step waiting for a slot (read by getLiveProgress). */
export interface SlotWaitDetails {
  phase: 'waiting-for-slot';
  slot: SlotKind;
  position: number;
  host: string;
  message: string;
}

const WAIT_BEAT_MS = 1_000;

/**
 * Runs `work` holding one slot of `kind` on this host; released however `work` ends (success,
 * failure, cancel, timeout). A cancel or timeout while waiting leaves the line: nothing is held.
 * `urgent`: the workload is frozen (its transfer, its restore): it goes ahead of other waiters.
 */
export async function withSlot<T>(
  ctx: HostContext,
  kind: SlotKind,
  work: () => Promise<T>,
  opts: { urgent?: boolean } = {},
): Promise<T> {
  const { granted, wait } = ctx.slots.enter(kind, { signal: activitySignal(), urgent: opts.urgent });
  const beat = () => {
    const w = wait();
    if (!w) return;
    const details: SlotWaitDetails = {
      phase: 'waiting-for-slot',
      slot: kind,
      position: w.position,
      host: ctx.host.name,
      message: describeSlotWait(w, ctx.host.name),
    };
    heartbeat(details);
  };
  beat();
  const timer = setInterval(beat, WAIT_BEAT_MS);
  let release: () => void;
  try {
    release = await granted;
  } catch (err) {
    if (err instanceof SlotAborted)
      throw new CancelledFailure(`${err.message} (${kind} on ${ctx.host.name})`);
    throw err;
  } finally {
    clearInterval(timer);
  }
  try {
    return await work();
  } finally {
    release();
  }
}
