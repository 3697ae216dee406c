import type { ApplicationFailure } from '@temporalio/common';
import { refuseUnlessReplaceable } from '../../src/activities/preflight.js';
import type { NameHolder } from '../../src/runtimes/runtime.js';

const input = { workload: 'dup', runtime: 'docker' as const, migrationId: 'm1' };
const holder = (running: boolean): NameHolder => ({
  id: '0123456789abcdef0123',
  state: running ? 'running' : 'exited',
  running,
  removeCommand: `/usr/bin/docker -H unix:///run/d.sock rm ${running ? '-f ' : ''}0123456789ab`,
});
const refusal = (fn: () => void) => {
  try {
    fn();
  } catch (err) {
    return err as ApplicationFailure;
  }
  return undefined;
};

describe('destination preflight: a container already holds the name', () => {
  it('refuses a stopped one, naming host, state, id and the command that removes it', () => {
    const err = refusal(() => refuseUnlessReplaceable(input, 'node-b', holder(false)));
    expect(err?.type).toBe('NameTakenOnDestination');
    expect(err?.nonRetryable).toBe(true);
    expect(err?.message).toContain(
      'a docker container named "dup" already exists on node-b (state exited, id 0123456789ab)',
    );
    expect(err?.message).toContain('/usr/bin/docker -H unix:///run/d.sock rm 0123456789ab');
    expect(err?.message).toContain('replaceStopped: true');
  });

  it('lets replaceStopped take a stopped one', () => {
    expect(
      refusal(() => refuseUnlessReplaceable({ ...input, replaceStopped: true }, 'node-b', holder(false))),
    ).toBeUndefined();
  });

  it('always refuses a running one, replaceStopped or not', () => {
    const err = refusal(() =>
      refuseUnlessReplaceable({ ...input, replaceStopped: true }, 'node-b', holder(true)),
    );
    expect(err?.type).toBe('WorkloadAlreadyOnDestination');
    expect(err?.message).toContain('already runs on node-b (state running, id 0123456789ab)');
    expect(err?.message).toContain('rm -f 0123456789ab');
  });
});
