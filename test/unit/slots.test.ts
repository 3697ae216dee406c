import { describe, expect, it } from '@jest/globals';
import { describeSlotWait, HostSlots, Semaphore, SlotAborted } from '../../src/host/slots.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('Semaphore', () => {
  it('grants up to its limit at once and queues the rest in order', async () => {
    const sem = new Semaphore(2);
    const a = await sem.acquire();
    const b = await sem.acquire();
    const order: string[] = [];
    const c = sem.enter();
    const d = sem.enter();
    void c.granted.then(() => order.push('c'));
    void d.granted.then(() => order.push('d'));
    expect([sem.held, sem.waiting, c.position(), d.position()]).toEqual([2, 2, 1, 2]);
    a();
    await tick();
    expect(order).toEqual(['c']);
    expect(d.position()).toBe(1);
    b();
    await tick();
    expect(order).toEqual(['c', 'd']);
    expect([sem.held, sem.waiting]).toEqual([2, 0]);
  });

  it('a release called twice frees one slot only', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const next = sem.enter();
    const third = sem.enter();
    release();
    release();
    await next.granted;
    expect([sem.held, third.position()]).toEqual([1, 1]);
  });

  it('an aborted wait leaves the line and holds nothing', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const abort = new AbortController();
    const cancelled = sem.enter(abort.signal);
    const after = sem.enter();
    abort.abort();
    await expect(cancelled.granted).rejects.toBeInstanceOf(SlotAborted);
    expect([sem.waiting, after.position()]).toEqual([1, 1]);
    release();
    await after.granted;
    expect(sem.held).toBe(1);
  });

  it('refuses at once when the signal is already aborted', async () => {
    const sem = new Semaphore(1);
    const abort = new AbortController();
    abort.abort();
    await expect(sem.acquire(abort.signal)).rejects.toBeInstanceOf(SlotAborted);
    expect([sem.held, sem.waiting]).toEqual([0, 0]);
  });

  it('urgent waiters go ahead of calm ones, in their own order', async () => {
    const sem = new Semaphore(1);
    const release = await sem.acquire();
    const calm = sem.enter();
    const urgent1 = sem.enter(undefined, true);
    const urgent2 = sem.enter(undefined, true);
    expect([urgent1.position(), urgent2.position(), calm.position()]).toEqual([1, 2, 3]);
    release();
    (await urgent1.granted)();
    (await urgent2.granted)();
    await calm.granted;
    expect(sem.held).toBe(1);
  });

  it('a slot is freed when the step holding it fails', async () => {
    const sem = new Semaphore(1);
    const step = async () => {
      const release = await sem.acquire();
      try {
        throw new Error('criu failed');
      } finally {
        release();
      }
    };
    await expect(step()).rejects.toThrow('criu failed');
    expect(sem.held).toBe(0);
  });

  it('refuses a limit below 1', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

describe('HostSlots', () => {
  it('keeps one line per kind and says where a waiter stands', async () => {
    const slots = new HostSlots({ criu: 1, transfer: 1 });
    const criu = slots.enter('criu');
    const transfer = slots.enter('transfer');
    expect([criu.wait(), transfer.wait()]).toEqual([undefined, undefined]);
    const second = slots.enter('criu');
    expect(second.wait()).toEqual({ slot: 'criu', position: 1, held: 1, limit: 1 });
    (await criu.granted)();
    await second.granted;
    expect(second.wait()).toBeUndefined();
  });

  it('defaults to two of each', () => {
    const slots = new HostSlots();
    expect([slots.of('criu').limit, slots.of('transfer').limit]).toEqual([2, 2]);
  });

  it('says what a step waits for', () => {
    expect(describeSlotWait({ slot: 'criu', position: 2, held: 2, limit: 2 }, 'node-a')).toBe(
      'waiting for a CRIU slot on node-a (2nd in line, 2 of 2 busy)',
    );
    expect(describeSlotWait({ slot: 'transfer', position: 11, held: 1, limit: 1 }, 'node-b')).toBe(
      'waiting for a transfer slot on node-b (11th in line, 1 of 1 busy)',
    );
  });
});
