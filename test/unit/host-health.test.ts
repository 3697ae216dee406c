// Host health, pure parts: judging a worker from its pollers, the words of every refusal and
// timeout (they name the host and the command that starts its worker), SSH failures with their
// fix, the control masters' settings key, ferry hosts' table and the worker's quiet SDK warning.
import { ActivityFailure, RetryState, TimeoutFailure } from '@temporalio/common';
import type { LogLevel } from '@temporalio/worker';
import { hostsTable } from '../../src/cli/commands/hosts.js';
import type { HostStatus } from '../../src/client/hosts.js';
import { describeCause, neverStarted, withHostNamed } from '../../src/domain/failures.js';
import {
  lastPollAgoS,
  POLLER_STALE_AFTER_S,
  pollersRuleOut,
  probeDownReason,
  workerDownMessage,
} from '../../src/domain/host-liveness.js';
import { explainingExpectedWarnings, NO_WORKFLOWS_WARNING } from '../../src/observability/runtime.js';
import { sshProblem } from '../../src/transfer/ssh-check.js';
import { sshSettingsKey, type SshSettings } from '../../src/transfer/ssh-control.js';

const NOW = 1_800_000_000_000;

describe('worker liveness from the pollers', () => {
  it('takes the most recent poll, and rules out only none or none within a poll period', () => {
    expect(lastPollAgoS([], NOW)).toBeUndefined();
    expect(lastPollAgoS([{ lastAccessMs: NOW - 59_400 }, { lastAccessMs: NOW - 2_000 }], NOW)).toBe(2);
    // A live idle worker reads up to ~60 s (its long poll): still to be asked, not ruled out.
    expect(pollersRuleOut(59, 'node-b')).toBeUndefined();
    expect(pollersRuleOut(POLLER_STALE_AFTER_S, 'node-b')).toBeUndefined();
    expect(pollersRuleOut(POLLER_STALE_AFTER_S + 1, 'node-b')).toBe(
      'it last polled 71 s ago (a live worker polls at least every 70 s)',
    );
    expect(pollersRuleOut(undefined, 'node-b')).toBe('nothing polls its task queue ferry-host-node-b');
  });

  it('refuses naming the host, why, and the command that starts its worker', () => {
    expect(
      workerDownMessage('destination', 'node-b', probeDownReason('not-picked-up'), '/etc/ferry/ferry.yaml'),
    ).toBe(
      'destination host node-b has no running ferry worker: it did not pick up a probe within 4 s (stopped or hung). Start it on node-b with: ferry worker --host node-b --config /etc/ferry/ferry.yaml',
    );
    expect(probeDownReason('no-workflow-worker')).toBe(
      'no ferry worker of any host runs workflows, so nothing ran the probe',
    );
  });
});

describe('a host step that timed out', () => {
  const timedOut = (type: 'SCHEDULE_TO_START' | 'HEARTBEAT') =>
    new ActivityFailure(
      'activity timed out',
      'preflightDestination',
      '3',
      RetryState.TIMEOUT,
      undefined,
      new TimeoutFailure('activity ScheduleToStart timeout', undefined, type),
    );

  it('names its host in the cause, and still reads as never started', () => {
    const named = withHostNamed(timedOut('SCHEDULE_TO_START'), 'node-b');
    expect(neverStarted(named)).toBe(true);
    expect(describeCause(named)).toEqual({
      type: 'HostUnavailable',
      message:
        "node-b's worker did not pick up the step preflightDestination in time (SCHEDULE_TO_START): is it running? If not, start it on node-b with: ferry worker --host node-b --config FILE",
    });
    expect(describeCause(withHostNamed(timedOut('HEARTBEAT'), 'node-a')).message).toBe(
      "node-a's worker stopped answering during the step preflightDestination (HEARTBEAT timeout): did it stop? If so, start it on node-a with: ferry worker --host node-a --config FILE",
    );
  });

  it('leaves other failures as they are', () => {
    const other = new Error('boom');
    expect(withHostNamed(other, 'node-b')).toBe(other);
  });
});

describe('SSH to the peer, checked in preflight', () => {
  const where = {
    from: 'node-a',
    peer: 'node-b',
    to: { address: '10.0.0.12', port: 2222, user: 'root' },
    knownHostsFile: '/etc/ferry/known_hosts',
  };

  it('an unknown host key names the file and the ssh-keyscan that adds it (address and port)', () => {
    const p = sshProblem(
      'No ED25519 host key is known for [10.0.0.12]:2222 and you have requested strict checking.\nHost key verification failed.\n',
      where,
    );
    expect(p).toEqual({
      type: 'HostKeyRejected',
      message:
        "node-a does not know node-b's SSH host key (10.0.0.12:2222): /etc/ferry/known_hosts has no entry for [10.0.0.12]:2222. Add it on node-a (then compare its fingerprint with node-b's): ssh-keyscan -p 2222 10.0.0.12 >> /etc/ferry/known_hosts",
    });
  });

  it('a changed host key says how to replace it', () => {
    const p = sshProblem(
      '@@@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n@@@@@@@\nHost key verification failed.',
      { ...where, to: { ...where.to, port: 22 } },
    );
    expect(p.type).toBe('HostKeyRejected');
    expect(p.message).toContain(
      "ssh-keygen -R '10.0.0.12' -f /etc/ferry/known_hosts && ssh-keyscan -p 22 10.0.0.12 >> /etc/ferry/known_hosts",
    );
  });

  it('a refused key and an unreachable sshd are transfer problems, quoted', () => {
    expect(sshProblem('root@10.0.0.12: Permission denied (publickey).', where).message).toBe(
      "node-b's sshd at 10.0.0.12:2222 refused root with node-a's key (root@10.0.0.12: Permission denied (publickey).): add the public key of transfer.identityFile to ~root/.ssh/authorized_keys on node-b",
    );
    expect(sshProblem('ssh: connect to host 10.0.0.12 port 2222: Connection refused', where)).toEqual({
      type: 'TransferFailed',
      message:
        "node-a cannot reach node-b's sshd at 10.0.0.12:2222 (ssh: connect to host 10.0.0.12 port 2222: Connection refused): is sshd running there, and are ssh.address and ssh.port in the config right?",
    });
  });

  it('a master opened under another known_hosts or key is not reused: its socket name differs', () => {
    const s: SshSettings = {
      identityFile: '/k',
      identityStamp: '1:2',
      knownHostsFile: '/kh',
      knownHosts: '[10.0.0.12]:2222 ssh-ed25519 AAAA\n',
    };
    const key = sshSettingsKey(s);
    expect(key).toMatch(/^[0-9a-f]{8}$/);
    expect(sshSettingsKey({ ...s })).toBe(key);
    expect(
      sshSettingsKey({ ...s, knownHosts: `${s.knownHosts}[10.0.0.13]:2222 ssh-ed25519 BBBB\n` }),
    ).not.toBe(key);
    expect(sshSettingsKey({ ...s, identityStamp: '1:3' })).not.toBe(key);
  });
});

describe('ferry hosts', () => {
  const base: HostStatus = {
    name: 'node-a',
    up: true,
    lastPollAgoS: 12,
    address: '10.0.0.11:22',
    stateDir: '/var/lib/ferry',
    runcRoot: '/run/runc',
    ferryVersion: '0.1.0',
    criuVersion: '4.2.1',
    runtimes: ['runc', 'process'],
    freeBytes: 20 * 2 ** 30,
    cordoned: false,
  };

  it('one line per host, then how to start each worker that is down', () => {
    const down: HostStatus = {
      ...base,
      name: 'node-b',
      up: false,
      downBecause: 'it did not pick up a probe within 4 s (stopped or hung)',
      startWith: 'ferry worker --host node-b --config /etc/ferry/ferry.yaml',
      ferryVersion: undefined,
      criuVersion: undefined,
      freeBytes: undefined,
      cordoned: true,
      cordonReason: 'kernel update',
    };
    expect(hostsTable([base, down]).split('\n')).toEqual([
      'host    worker  last poll  ferry  criu   runtimes      free      cordon                    runc root',
      'node-a  up      12 s ago   0.1.0  4.2.1  runc,process  20.0 GiB  -                         /run/runc',
      'node-b  DOWN    12 s ago   ?      ?      runc,process  ?         cordoned (kernel update)  /run/runc',
      '',
      'node-b: it did not pick up a probe within 4 s (stopped or hung); start it there with: ferry worker --host node-b --config /etc/ferry/ferry.yaml',
    ]);
  });
});

describe("the worker's logger", () => {
  it("turns the SDK's expected 'No workflows registered' warning into a DEBUG line that says why", () => {
    const lines: [LogLevel, string][] = [];
    const inner = {
      log: (level: LogLevel, message: string) => void lines.push([level, message]),
    } as unknown as Parameters<typeof explainingExpectedWarnings>[0];
    const logger = explainingExpectedWarnings(inner);
    logger.warn(NO_WORKFLOWS_WARNING, { taskQueue: 'ferry-host-node-a' });
    logger.warn('something else');
    expect(lines).toEqual([
      [
        'DEBUG',
        `${NO_WORKFLOWS_WARNING} (expected: this host's queue carries only its activities; workflows run on the shared queue)`,
      ],
      ['WARN', 'something else'],
    ]);
  });
});
