// withSlot inside a (mock) activity: a waiting step heartbeats where it stands, a cancel while
// waiting leaves the line, and the slot comes back however the step ends.
import { describe, expect, it } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import type { HostContext } from '../../src/activities/host-context.js';
import { withSlot } from '../../src/activities/slots.js';
import { HostSlots } from '../../src/host/slots.js';

const hostCtx = (slots: HostSlots) => ({ slots, host: { name: 'node-a' } }) as unknown as HostContext;

describe('withSlot', () => {
  it('heartbeats "waiting for a CRIU slot on node-a" while it waits, then runs the step', async () => {
    const slots = new HostSlots({ criu: 1 });
    const ctx = hostCtx(slots);
    const holder = await slots.of('criu').acquire();
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const running = env.run(() => withSlot(ctx, 'criu', async () => 'dumped'));
    await new Promise((r) => setTimeout(r, 1_200));
    expect(beats[0]).toEqual({
      phase: 'waiting-for-slot',
      slot: 'criu',
      position: 1,
      host: 'node-a',
      message: 'waiting for a CRIU slot on node-a (1st in line, 1 of 1 busy)',
    });
    expect(beats.length).toBeGreaterThanOrEqual(2); // again every second: no heartbeat timeout
    holder();
    await expect(running).resolves.toBe('dumped');
    expect(slots.of('criu').held).toBe(0);
  });

  it('a cancel while waiting leaves the line and holds nothing', async () => {
    const slots = new HostSlots({ transfer: 1 });
    const holder = await slots.of('transfer').acquire();
    const env = new MockActivityEnvironment();
    const running = env.run(() => withSlot(hostCtx(slots), 'transfer', async () => 'sent'));
    await new Promise((r) => setTimeout(r, 50));
    env.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    expect([slots.of('transfer').held, slots.of('transfer').waiting]).toEqual([1, 0]);
    holder();
    expect(slots.of('transfer').held).toBe(0);
  });

  it('a failing step gives its slot back', async () => {
    const slots = new HostSlots({ criu: 1 });
    const env = new MockActivityEnvironment();
    await expect(
      env.run(() =>
        withSlot(hostCtx(slots), 'criu', async () => {
          throw new Error('criu restore failed');
        }),
      ),
    ).rejects.toThrow('criu restore failed');
    expect(slots.of('criu').held).toBe(0);
  });
});
