import { readFile } from 'node:fs/promises';
import { keptCriuLogLines } from '../../src/criu/criu.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyCriuFailure, CRIU_FAILURE_RULES, fixFor } from '../../src/criu/classify.js';
import { criuLogExcerpt, criuProblemLines, frozenSpanMs } from '../../src/criu/log.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES } from '../../src/domain/errors.js';
import { ferryFailure } from '../../src/domain/failures.js';
import { DOCKER_CAPABILITIES } from '../../src/runtimes/docker-capabilities.js';
import { PROCESS_CAPABILITIES } from '../../src/runtimes/process-capabilities.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'criu-messages');
const fixture = (name: string) => readFile(path.join(fixtures, name), 'utf8');

describe('classifying real CRIU 4.2 dump failures', () => {
  // Every log here was captured from CRIU 4.2.1 on this kernel (test/fixtures/criu-messages/README.md).
  const table: [string, string, string][] = [
    ['dump-tcp-established.log', 'tcp-established', ErrorType.NotCheckpointable],
    ['dump-runc-tcp-established.log', 'tcp-established', ErrorType.NotCheckpointable],
    ['dump-rlimit-other-user.log', 'rlimit-permission', ErrorType.NotCheckpointable],
    ['dump-traced.log', 'ptrace-denied', ErrorType.NotCheckpointable],
    ['dump-unix-external-stream.log', 'unix-external', ErrorType.NotCheckpointable],
    ['dump-unix-external-dgram.log', 'unix-external', ErrorType.NotCheckpointable],
    ['dump-socket-vsock.log', 'socket-family', ErrorType.NotCheckpointable],
    ['dump-socket-xdp.log', 'socket-family', ErrorType.NotCheckpointable],
    ['dump-file-locks.log', 'file-locks', ErrorType.NotCheckpointable],
    ['dump-file-kvm.log', 'file-type', ErrorType.NotCheckpointable],
    ['dump-file-perf-event.log', 'file-type', ErrorType.NotCheckpointable],
    ['dump-file-userfaultfd.log', 'file-type', ErrorType.NotCheckpointable],
    ['dump-file-bpf-map.log', 'file-type', ErrorType.NotCheckpointable],
    ['dump-io-uring.log', 'fd-not-passable', ErrorType.NotCheckpointable],
    ['dump-pidfd-outside.log', 'pidfd-outside', ErrorType.NotCheckpointable],
    ['dump-tun.log', 'tun', ErrorType.NotCheckpointable],
    ['dump-mount-lookup.log', 'mount-lookup', ErrorType.NotCheckpointable],
    ['dump-no-space.log', 'no-space', ErrorType.InsufficientSpace],
  ];

  it.each(table)('%s → %s (%s, not retried)', async (file, rule, type) => {
    const v = classifyCriuFailure(await fixture(file));
    expect(v).toMatchObject({ rule, type, retryable: false });
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(v!.type);
    // CRIU's own words, as the log has them.
    expect(v!.said).toMatch(/^(Error|Warn)\s+\(/);
  });

  it('quotes the line that decides, with what it names', async () => {
    expect((await classify('dump-tcp-established.log')).said).toBe(
      'Error (criu/sk-inet.c:200): inet: Connected TCP socket, consider using --tcp-established option.',
    );
    expect((await classify('dump-rlimit-other-user.log')).said).toBe(
      "Error (criu/cr-dump.c:389): Can't get rlimit 0: Operation not permitted",
    );
    expect((await classify('dump-socket-vsock.log')).problem).toContain('family 40 (AF_VSOCK)');
    expect((await classify('dump-file-kvm.log')).problem).toContain('chr 10:232');
    expect((await classify('dump-file-perf-event.log')).problem).toContain('anon_inode:[perf_event]');
    // The tracer case: a warning before the first (misleading) error is the root cause.
    expect((await classify('dump-traced.log')).said).toContain('Unable to interrupt task');
  });

  it('names the request option that fixes it', async () => {
    expect((await classify('dump-tcp-established.log')).option).toBe('tcpEstablished');
    expect((await classify('dump-tcp-established.log')).fix).toContain('--tcp-established');
    expect((await classify('dump-file-locks.log')).option).toBe('fileLocks');
    expect((await classify('dump-rlimit-other-user.log')).fix).toContain('CAP_SYS_RESOURCE');
  });

  it('leaves what it does not know retryable: a restore error, a bare failure', async () => {
    expect(classifyCriuFailure(await fixture('restore-head-magic.log'))).toBeUndefined();
    expect(classifyCriuFailure('', 'criu failed: type DUMP errno 0')).toBeUndefined();
    expect(classifyCriuFailure('')).toBeUndefined();
  });

  // Lines built from CRIU 4.2.1's own format strings (strings of the binary), for refusals that
  // cannot be produced on this machine.
  it.each([
    ['Error (criu/sk-inet.c:177): inet: In-flight connection (l) for 1a2b', 'in-flight-connection', true],
    ['Error (criu/sk-inet.c:215): inet: Unknown inet socket 1a2b state 12', 'tcp-state-changing', true],
    ['Error (criu/seize.c:605): Timeout reached. Try to interrupt: 0', 'freeze-timeout', true],
    [
      'Error (criu/mem.c:400): Tracking memory is not available. Consider omitting --track-mem option.',
      'no-dirty-tracking',
      false,
    ],
    ['Error (criu/sk-inet.c:101): inet: Unsupported proto 132 for socket 1a2b', 'inet-unsupported', false],
    [
      'Error (criu/mount.c:1160): mnt: Mount 12:/data is autodetected external mount. Try "--ext-mount-map auto" to allow them.',
      'external-mount',
      false,
    ],
    [
      'Error (criu/cr-dump.c:1345): The root process 42 is not a session leader. Consider using --shell-job option',
      'shell-job',
      false,
    ],
    [
      "Error (criu/files-reg.c:1010): Can't dump ghost file /tmp/x of 2000000 size, increase limit",
      'ghost-limit',
      false,
    ],
    ['Error (criu/seccomp.c:50): Dumping seccomp filters not supported: Invalid argument', 'seccomp', false],
  ])('%s → %s', (line, rule, retryable) => {
    expect(classifyCriuFailure(`(00.100000) ${line}`)).toMatchObject({ rule, retryable });
  });

  it('has one unique id per rule, and a fix for each', () => {
    const ids = CRIU_FAILURE_RULES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of CRIU_FAILURE_RULES) expect(r.fix.length).toBeGreaterThan(10);
  });

  it('gives docker, which cannot pass the option, another fix', async () => {
    const v = await classify('dump-tcp-established.log');
    expect(fixFor(v, PROCESS_CAPABILITIES)).toContain('migrate with --tcp-established');
    expect(fixFor(v, DOCKER_CAPABILITIES)).toMatch(
      /^docker cannot pass --tcp-established to CRIU: close the connections/,
    );
  });

  it('NotCheckpointable is never retried by the activity retry policy', () => {
    expect(NON_RETRYABLE_ERROR_TYPES).toContain(ErrorType.NotCheckpointable);
    expect(ferryFailure(ErrorType.NotCheckpointable, 'x').nonRetryable).toBe(true);
    expect(ferryFailure(ErrorType.CheckpointFailed, 'x').nonRetryable).toBe(false);
  });
});

async function classify(file: string) {
  const v = classifyCriuFailure(await fixture(file));
  if (!v) throw new Error(`${file}: no verdict`);
  return v;
}

describe('reading a CRIU log', () => {
  it('measures how long a failed dump kept the workload frozen (seized → unfrozen)', async () => {
    // 00.217657 Seized task … 00.223365 Unfreezing tasks
    expect(frozenSpanMs(await fixture('dump-tcp-established.log'))).toBe(6);
    expect(frozenSpanMs(await fixture('dump-ok-tcp-established.log'))).toBe(44);
    // runc: CRIU freezes the container's cgroup first (00.069903), thaws it at 00.186991.
    expect(frozenSpanMs(await fixture('dump-runc-tcp-established.log'))).toBe(117);
    // CRIU could not seize a traced process: it never froze it.
    expect(frozenSpanMs(await fixture('dump-traced.log'))).toBeUndefined();
    expect(frozenSpanMs('')).toBeUndefined();
    // Killed mid-dump: up to its last line.
    expect(frozenSpanMs('(00.100000) Seized task 4, state 1\n(00.350000) Dumping pages')).toBe(250);
  });

  it("lists its problem lines without the harmless RLIMIT_NOFILE one, and the parasite's lines", async () => {
    const lines = criuProblemLines(await fixture('dump-io-uring.log'));
    expect(lines[0]).toBe('Error (criu/pie/parasite.c:588): send_fds failed (-22)');
    expect(lines.some((l) => /RLIMIT_NOFILE/.test(l))).toBe(false);
  });

  it('excerpts the lines that explain a failure', async () => {
    const excerpt = criuLogExcerpt(await fixture('dump-tcp-established.log'));
    expect(excerpt[0]).toContain('Version: 4.2.1');
    expect(excerpt).toContain(
      '(00.223185) Error (criu/sk-inet.c:200): inet: Connected TCP socket, consider using --tcp-established option.',
    );
    expect(excerpt.at(-1)).toContain('Dumping FAILED');
    expect(excerpt.some((l) => /RLIMIT_NOFILE/.test(l))).toBe(false);
    expect(criuLogExcerpt(await fixture('dump-no-space.log'), { max: 5 })).toHaveLength(5);
  });
});

describe('keptCriuLogLines (ferry show on the host that kept the log)', () => {
  it('reads the telling lines and the verdict, or says the log is gone', async () => {
    const kept = await keptCriuLogLines(path.join(fixtures, 'dump-file-locks.log'));
    expect(kept).toMatchObject({ exists: true, verdict: { rule: 'file-locks' } });
    expect(kept.lines.join('\n')).toContain('Some file locks are hold by dumping tasks!');
    expect(await keptCriuLogLines(path.join(fixtures, 'gone.log'))).toEqual({
      path: path.join(fixtures, 'gone.log'),
      exists: false,
      lines: [],
    });
  });
});
