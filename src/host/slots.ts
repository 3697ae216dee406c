// A host's bound on its heavy steps (CRIU, rsync, image save/load): a counting semaphore per kind
// of slot, first come first served. Pure (no I/O, no timers): the activity wrapper
// (src/activities/slots.ts) heartbeats while a step waits and passes its cancellation signal.

export const SLOT_KINDS = ['criu', 'transfer'] as const;
export type SlotKind = (typeof SLOT_KINDS)[number];

/** What a waiting step reports: its place in the line (1 = next to get a slot). */
export interface SlotWait {
  slot: SlotKind;
  position: number;
  /** Steps holding this kind of slot now, and how many there are. */
  held: number;
  limit: number;
}

export class SlotAborted extends Error {
  override name = 'SlotAborted';
}

interface Waiter {
  urgent: boolean;
  grant: () => void;
  reject: (err: Error) => void;
}

/** A place in a semaphore's line: the slot once granted, and where it stands until then. */
export interface Ticket {
  granted: Promise<() => void>;
  /** 1-based place in the line; 0 once granted (or aborted). */
  position: () => number;
}

/** A counting semaphore: at most `limit` holders; waiters are served in order. */
export class Semaphore {
  private holders = 0;
  private readonly waiters: Waiter[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`a slot limit must be >= 1, not ${limit}`);
  }

  get held(): number {
    return this.holders;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * A ticket whose `granted` resolves with a release function once a slot is free (at once when
   * one is). `signal` aborts the wait (the step was cancelled or timed out): the waiter leaves the
   * line, nothing is held. The release function is idempotent: a finally may call it twice.
   * An `urgent` waiter (a step of a frozen workload: its restore, its transfer) goes ahead of
   * every waiter that is not, behind those that are.
   */
  enter(signal?: AbortSignal, urgent = false): Ticket {
    if (signal?.aborted)
      return {
        granted: Promise.reject(new SlotAborted('cancelled while waiting for a slot')),
        position: () => 0,
      };
    if (this.holders < this.limit && !this.waiters.length) {
      this.holders++;
      return { granted: Promise.resolve(this.releaser()), position: () => 0 };
    }
    let waiter: Waiter | undefined;
    const granted = new Promise<() => void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter!);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new SlotAborted('cancelled while waiting for a slot'));
      };
      waiter = {
        urgent,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.holders++;
          resolve(this.releaser());
        },
        reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const firstCalm = urgent ? this.waiters.findIndex((w) => !w.urgent) : -1;
      if (firstCalm < 0) this.waiters.push(waiter);
      else this.waiters.splice(firstCalm, 0, waiter);
    });
    return { granted, position: () => this.waiters.indexOf(waiter!) + 1 };
  }

  acquire(signal?: AbortSignal, urgent = false): Promise<() => void> {
    return this.enter(signal, urgent).granted;
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holders--;
      this.waiters.shift()?.grant();
    };
  }
}

/** Defaults for a 2-core host: two CRIU commands and two rsyncs at once. */
export const DEFAULT_SLOT_LIMITS = { criu: 2, transfer: 2 } as const satisfies Record<SlotKind, number>;

/** One semaphore per kind of slot, for one host. */
export class HostSlots {
  private readonly sems: Record<SlotKind, Semaphore>;

  constructor(limits: Partial<Record<SlotKind, number>> = {}) {
    this.sems = {
      criu: new Semaphore(limits.criu ?? DEFAULT_SLOT_LIMITS.criu),
      transfer: new Semaphore(limits.transfer ?? DEFAULT_SLOT_LIMITS.transfer),
    };
  }

  of(kind: SlotKind): Semaphore {
    return this.sems[kind];
  }

  /** A place in the line for a slot of that kind, and how to say where it stands. */
  enter(
    kind: SlotKind,
    opts: { signal?: AbortSignal; urgent?: boolean } = {},
  ): { granted: Promise<() => void>; wait: () => SlotWait | undefined } {
    const sem = this.sems[kind];
    const ticket = sem.enter(opts.signal, opts.urgent);
    return {
      granted: ticket.granted,
      wait: () => {
        const position = ticket.position();
        return position > 0 ? { slot: kind, position, held: sem.held, limit: sem.limit } : undefined;
      },
    };
  }
}

/** "waiting for a CRIU slot on node-a (2nd in line, 2 of 2 busy)" */
export function describeSlotWait(w: SlotWait, host: string): string {
  const kind = w.slot === 'criu' ? 'CRIU' : 'transfer';
  return `waiting for a ${kind} slot on ${host} (${ordinal(w.position)} in line, ${w.held} of ${w.limit} busy)`;
}

function ordinal(n: number): string {
  const tens = n % 100;
  if (tens >= 11 && tens <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}
