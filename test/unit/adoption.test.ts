import { appendFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  adoptionProblems,
  containerHint,
  filesToCarry,
  needsShellJob,
  outputTarget,
  pathsNeeded,
} from '../../src/runtimes/adoption-checks.js';
import {
  classifyFd,
  hasCapability,
  inetAddress,
  parseFdinfoWritable,
  parseMappedPaths,
  parseProcNetInet,
  parseSsUnix,
  parseStat,
  parseStatus,
  type FdInfo,
  type ProcInfo,
  type TreeFacts,
} from '../../src/runtimes/process-tree.js';
import { judgeUnit, parsePidFile, parseSystemctlShow } from '../../src/runtimes/adopt-target.js';
import { carryFiles, putBackFiles } from '../../src/runtimes/carried-files.js';
import { validateMigrateRequest } from '../../src/domain/validation.js';
import { capabilitiesOf } from '../../src/runtimes/capabilities.js';
import { adoptTarget } from '../../src/cli/commands/migrate.js';
import { migrateRequestSchema } from '../../src/serve/schemas.js';
import type { MigrateRequest } from '../../src/domain/types.js';

const proc = (pid: number, over: Partial<ProcInfo> = {}): ProcInfo => ({
  pid,
  tgid: pid,
  ppid: 1,
  pgid: pid,
  sid: pid,
  state: 'S',
  comm: 'app',
  uid: 0,
  startTime: 100,
  ...over,
});
const fd = (fdNo: number, target: string, over: Partial<FdInfo> = {}): FdInfo => ({
  pid: 4242,
  fd: fdNo,
  target,
  ...classifyFd(target, target.startsWith('/') && !target.startsWith('/dev/') ? FILE : undefined),
  writable: false,
  ...over,
});
const FILE = { isFile: true, isDirectory: false, isCharDevice: false, rdevMajor: 0 };

/** A session leader with stdin on /dev/null and its output in a log file: movable. */
function tree(over: Partial<TreeFacts> = {}): TreeFacts {
  return {
    root: proc(4242),
    members: [proc(4242), proc(4243, { ppid: 4242, pgid: 4242, sid: 4242 })],
    groupOutsiders: [],
    fds: [
      fd(0, '/dev/null'),
      fd(1, '/var/log/app.log', { writable: true, size: 10 }),
      fd(2, '/var/log/app.log', { writable: true, size: 10 }),
      fd(3, '/etc/app.conf', { size: 5 }),
    ],
    sockets: [],
    outsideHolders: {},
    foreignNamespaces: [],
    cgroup: '0::/user.slice',
    mappedPaths: ['/usr/bin/python3.11', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/srv/app'],
    worker: { pid: 10, uid: 0, hasSysResource: false },
    ...over,
  };
}
const codes = (t: TreeFacts, tcpEstablished = false) =>
  adoptionProblems(t, { host: 'node-a', tcpEstablished }).map((p) => p.code);

describe('adoption checks (what CRIU can move)', () => {
  it('accepts a session leader with /dev/null, a log file and a file it reads', () => {
    expect(adoptionProblems(tree(), { host: 'node-a' })).toEqual([]);
  });

  it('refuses a thread, an exited process and a kernel thread on their own', () => {
    expect(codes(tree({ root: proc(4250, { tgid: 4242 }) }))).toEqual(['thread']);
    expect(adoptionProblems(tree({ root: proc(4250, { tgid: 4242 }) }), { host: 'a' })[0]!.message).toContain(
      '--pid 4242',
    );
    expect(codes(tree({ root: proc(4242, { state: 'Z' }) }))).toEqual(['exited']);
    expect(codes(tree({ root: proc(77, { ppid: 2 }) }))).toEqual(['kernel-thread']);
  });

  it('refuses a process in other namespaces and names the runtime that moves it', () => {
    const t = tree({
      foreignNamespaces: ['pid', 'mnt'],
      cgroup: '0::/system.slice/docker-0123abcd.scope',
      fds: [],
    });
    const [p] = adoptionProblems(t, { host: 'node-a' });
    expect(p!.code).toBe('container');
    expect(p!.message).toContain('pid, mnt namespaces');
    expect(p!.message).toContain('--runtime docker');
    expect(containerHint('12:pids:/libpod_parent/libpod-abc')).toContain('--runtime podman');
    expect(containerHint('0::/ferry/node-a-0123/web')).toContain('--runtime runc');
    expect(containerHint('0::/kubepods/burstable/pod1')).toContain('Kubernetes');
    expect(containerHint('0::/')).toContain('--runtime runc, podman or docker');
  });

  it('refuses a tree that contains the worker itself', () => {
    expect(codes(tree({ worker: { pid: 4243, uid: 0, hasSysResource: true } }))).toEqual(['worker-in-tree']);
  });

  it("refuses another user's process only where the worker lacks CAP_SYS_RESOURCE", () => {
    const t = tree({ members: [proc(4242, { uid: 1000 })] });
    expect(codes(t)).toEqual(['other-user']);
    expect(codes({ ...t, worker: { pid: 10, uid: 0, hasSysResource: true } })).toEqual([]);
  });

  it('refuses a terminal on any descriptor of any member, with how to detach', () => {
    const t = tree({ fds: [fd(0, '/dev/pts/3', { pid: 4243 })] });
    const [p] = adoptionProblems(t, { host: 'node-a' });
    expect(p!.code).toBe('tty');
    expect(p!.message).toContain('fd 0 of pid 4243');
    expect(p!.message).toContain('setsid');
  });

  it('refuses a pipe that a process outside the tree holds, once per pipe; a pipe inside is fine', () => {
    const pipes = [fd(1, 'pipe:[77]', { writable: true }), fd(2, 'pipe:[77]', { writable: true })];
    expect(codes(tree({ fds: pipes, outsideHolders: { 77: { pid: 99, comm: 'logger' } } }))).toEqual([
      'pipe-outside',
    ]);
    expect(codes(tree({ fds: pipes }))).toEqual([]);
  });

  it('refuses a unix socket whose peer is outside the tree; a socketpair inside is fine', () => {
    const fds = [fd(5, 'socket:[500]'), fd(6, 'socket:[501]', { pid: 4243 })];
    const pair = [
      { ino: 500, proto: 'unix' as const, state: 'connected' as const, peerIno: 501 },
      { ino: 501, proto: 'unix' as const, state: 'connected' as const, peerIno: 500 },
    ];
    expect(codes(tree({ fds, sockets: pair }))).toEqual([]);
    const journal = [{ ino: 500, proto: 'unix' as const, state: 'connected' as const, peerIno: 900 }];
    const [p] = adoptionProblems(
      tree({
        fds: [fds[0]!],
        sockets: journal,
        outsideHolders: { 900: { pid: 300, comm: 'systemd-journal' } },
      }),
      { host: 'node-a' },
    );
    expect(p).toMatchObject({ code: 'unix-outside' });
    expect(p!.message).toContain('pid 300 (systemd-journal)');
  });

  it('refuses an established TCP connection unless --tcp-established; a listening socket is fine', () => {
    const fds = [fd(7, 'socket:[600]'), fd(8, 'socket:[601]')];
    const sockets = [
      {
        ino: 600,
        proto: 'tcp' as const,
        state: 'listen' as const,
        local: '127.0.0.1:8080',
        remote: '0.0.0.0:0',
      },
      {
        ino: 601,
        proto: 'tcp' as const,
        state: 'connected' as const,
        local: '127.0.0.1:8080',
        remote: '127.0.0.1:40000',
      },
    ];
    const [p] = adoptionProblems(tree({ fds, sockets }), { host: 'node-a' });
    expect(p!.code).toBe('tcp-connected');
    expect(p!.message).toContain('--tcp-established');
    expect(p!.message).toContain('127.0.0.1:8080 → 127.0.0.1:40000');
    expect(codes(tree({ fds, sockets }), true)).toEqual([]);
  });

  it('refuses members of its session that do not descend from it (they would stay behind)', () => {
    const [p] = adoptionProblems(tree({ groupOutsiders: [proc(5000, { sid: 4242, pgid: 5000, ppid: 1 })] }), {
      host: 'node-a',
    });
    expect(p!.code).toBe('left-behind');
    expect(p!.message).toContain('session of pid 4242');
  });

  it('refuses a deleted open file larger than CRIU copies', () => {
    const big = fd(9, '/tmp/scratch (deleted)', { size: 5 * 1024 * 1024 });
    expect(codes(tree({ fds: [big] }))).toEqual(['deleted-file-too-big']);
    expect(codes(tree({ fds: [{ ...big, size: 1000 }] }))).toEqual([]);
  });

  it('needs --shell-job exactly when the root does not lead its session', () => {
    expect(needsShellJob({ pid: 10, sid: 10 })).toBe(false);
    expect(needsShellJob({ pid: 11, sid: 10 })).toBe(true);
  });

  it('carries the files it writes outside its folder and asks the destination for the rest', () => {
    const t = tree({
      fds: [...tree().fds, fd(4, '/state/workloads/process/app/note', { writable: true })],
    });
    expect(filesToCarry(t.fds, '/state/workloads/process/app')).toEqual(['/var/log/app.log']);
    expect(pathsNeeded(t, '/state/workloads/process/app')).toEqual([
      '/etc/app.conf',
      '/srv/app',
      '/usr/bin/python3.11',
      '/usr/lib/x86_64-linux-gnu/libc.so.6',
    ]);
  });

  it('shows the file its stdout (else stderr) writes as its output', () => {
    expect(outputTarget(tree().fds, 4242)).toBe('/var/log/app.log');
    expect(outputTarget([fd(1, '/dev/null'), fd(2, '/tmp/err.log', { writable: true })], 4242)).toBe(
      '/tmp/err.log',
    );
    expect(outputTarget([fd(0, '/dev/null'), fd(1, '/dev/null')], 4242)).toBe('/dev/null');
    expect(outputTarget([fd(1, 'pipe:[5]')], 4242)).toBeUndefined();
  });
});

describe('procfs parsers', () => {
  it('reads stat fields after a command name with spaces and parentheses', () => {
    const s = parseStat(
      '4242 (my (odd) app) S 1 4240 4239 0 -1 4194560 1 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10',
    );
    expect(s).toMatchObject({ pid: 4242, comm: 'my (odd) app', state: 'S', ppid: 1, pgid: 4240, sid: 4239 });
    expect(s!.startTime).toBe(987654);
  });

  it('reads tgid, real uid and CAP_SYS_RESOURCE from status', () => {
    const st = parseStatus(
      'Name:\tx\nTgid:\t4242\nUid:\t1000\t1000\t1000\t1000\nCapEff:\t000001fffeffffff\n',
    );
    expect(st).toMatchObject({ tgid: 4242, uid: 1000 });
    expect(hasCapability(st.capEff)).toBe(false); // measured on this machine's root
    expect(hasCapability(0x1ffffffffffn)).toBe(true);
  });

  it('knows writable descriptors from fdinfo flags (octal access mode)', () => {
    expect(parseFdinfoWritable('pos:\t0\nflags:\t02102001\nmnt_id:\t30\n')).toBe(true);
    expect(parseFdinfoWritable('pos:\t0\nflags:\t0100002\n')).toBe(true);
    expect(parseFdinfoWritable('pos:\t0\nflags:\t02100000\n')).toBe(false);
  });

  it('tells terminals, devices, pipes, sockets and deleted files apart', () => {
    const chr = (rdevMajor: number) => ({ isFile: false, isDirectory: false, isCharDevice: true, rdevMajor });
    expect(classifyFd('/dev/pts/0', chr(136)).kind).toBe('tty');
    expect(classifyFd('/dev/console', chr(5)).kind).toBe('tty');
    expect(classifyFd('/dev/urandom', chr(1)).kind).toBe('device');
    expect(classifyFd('/dev/null').kind).toBe('null');
    expect(classifyFd('pipe:[123]')).toEqual({ kind: 'pipe', ino: 123, deleted: false });
    expect(classifyFd('socket:[9]')).toEqual({ kind: 'socket', ino: 9, deleted: false });
    expect(classifyFd('anon_inode:[eventfd]').kind).toBe('anon');
    expect(classifyFd('/tmp/x (deleted)', FILE)).toEqual({ kind: 'file', deleted: true });
  });

  it('reads TCP and UDP sockets with their state and addresses', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 313787 1 0 100 0 0 10 0',
      '   1: 0100007F:1F90 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 313790 1 0 100 0 0 10 0',
      '   2: 0100007F:1F90 0100007F:9C41 06 00000000:00000000 03:00000000 00000000     0        0 0 1 0 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNetInet(tcp, 'tcp')).toEqual([
      { ino: 313787, proto: 'tcp', state: 'listen', local: '127.0.0.1:8080', remote: '0.0.0.0:0' },
      { ino: 313790, proto: 'tcp', state: 'connected', local: '127.0.0.1:8080', remote: '127.0.0.1:40000' },
    ]);
    expect(inetAddress('00000000000000000000000001000000:0050')).toBe(
      '[00000000000000000000000001000000]:80',
    );
  });

  it('reads unix sockets and their peers from ss, paths with spaces included', () => {
    const ss = [
      'u_str ESTAB  0 0 * 300860 * 300859',
      'u_str LISTEN 0 4096 /run/my app.sock 1234 * 0',
      'u_dgr ESTAB  0 0 * 555 /dev/log 444',
      'nonsense',
    ].join('\n');
    expect(parseSsUnix(ss)).toEqual([
      { ino: 300860, proto: 'unix', state: 'connected', local: '*', peerIno: 300859 },
      { ino: 1234, proto: 'unix', state: 'listen', local: '/run/my app.sock', peerIno: 0 },
      { ino: 555, proto: 'unix', state: 'connected', local: '*', peerIno: 444 },
    ]);
  });

  it('lists file-backed mappings once, without deleted ones or pseudo-paths', () => {
    const maps = [
      '55d0c0a00000-55d0c0a01000 r--p 00000000 fe:01 1234 /usr/bin/python3.11',
      '55d0c0a01000-55d0c0a02000 r-xp 00001000 fe:01 1234 /usr/bin/python3.11',
      '7f0000000000-7f0000001000 rw-s 00000000 00:01 99 /memfd:x (deleted)',
      '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]',
      '7f0000002000-7f0000003000 r--p 00000000 fe:01 77 /opt/my lib/libx.so',
    ].join('\n');
    expect(parseMappedPaths(maps)).toEqual(['/usr/bin/python3.11', '/opt/my lib/libx.so']);
  });
});

describe('finding the process to adopt', () => {
  it('reads a pid file', () => {
    expect(parsePidFile('4242\n')).toBe(4242);
    expect(parsePidFile('  4242 extra\nmore')).toBe(4242);
    expect(parsePidFile('')).toBeUndefined();
    expect(parsePidFile('1\n')).toBeUndefined();
    expect(parsePidFile('abc')).toBeUndefined();
  });

  it("takes a service's main process only when systemd would not start it again", () => {
    const show = parseSystemctlShow(
      'LoadState=loaded\nActiveState=active\nSubState=running\nMainPID=4242\nRestart=no\n',
    );
    expect(judgeUnit('app.service', 'node-a', show)).toEqual({ ok: true, pid: 4242 });
    const restart = judgeUnit('app.service', 'node-a', { ...show, Restart: 'on-failure' });
    expect(restart).toMatchObject({ ok: false, type: 'NotMovable' });
    expect(!restart.ok && restart.message).toContain('Restart=no');
    expect(
      judgeUnit('app.service', 'node-a', { ...show, ActiveState: 'inactive', MainPID: '0' }),
    ).toMatchObject({
      ok: false,
      type: 'WorkloadNotRunning',
    });
    expect(judgeUnit('nope.service', 'node-a', { LoadState: 'not-found' })).toMatchObject({
      ok: false,
      type: 'WorkloadNotFound',
    });
  });
});

describe('the adopt field of a migrate request', () => {
  const base: MigrateRequest = {
    workload: 'app',
    runtime: 'process',
    source: 'node-a',
    destination: 'node-b',
  };
  const problems = (adopt: unknown) =>
    validateMigrateRequest({ ...base, adopt: adopt as MigrateRequest['adopt'] }, capabilitiesOf);

  it('takes exactly one of pid, pidFile, unit, well formed', () => {
    expect(problems({ pid: 4242 })).toEqual([]);
    expect(problems({ pidFile: '/run/app.pid' })).toEqual([]);
    expect(problems({ unit: 'app.service' })).toEqual([]);
    expect(problems({})[0]).toContain('exactly one of pid, pidFile, unit');
    expect(problems({ pid: 4242, unit: 'app.service' })[0]).toContain('not pid and unit');
    expect(problems({ pid: 1 })[0]).toContain('init process');
    expect(problems({ pid: 0 })[0]).toContain('integer from 2');
    expect(problems({ pid: null })[0]).toContain('integer from 2');
    expect(problems({ pidFile: 'app.pid' })[0]).toContain('absolute path');
    expect(problems({ unit: 'app' })[0]).toContain('systemd service');
    expect(problems('4242')[0]).toContain('must be an object');
  });

  it('comes from --pid, --pidfile or --unit (a bare unit name is a service)', () => {
    expect(adoptTarget({})).toBeUndefined();
    expect(adoptTarget({ pid: '4242' })).toEqual({ pid: 4242 });
    expect(Number.isNaN(adoptTarget({ pid: '42x' })!.pid)).toBe(true);
    expect(adoptTarget({ pidfile: '/run/app.pid' })).toEqual({ pidFile: '/run/app.pid' });
    expect(adoptTarget({ unit: 'app' })).toEqual({ unit: 'app.service' });
    expect(adoptTarget({ unit: 'app.service' })).toEqual({ unit: 'app.service' });
  });

  it('is part of the HTTP schema, with the same rules', () => {
    expect(migrateRequestSchema.safeParse({ ...base, adopt: { pid: 4242 } }).success).toBe(true);
    expect(migrateRequestSchema.safeParse({ ...base, adopt: { pid: 4242, unit: 'a.service' } }).success).toBe(
      false,
    );
    expect(migrateRequestSchema.safeParse({ ...base, adopt: { pidFile: 'rel.pid' } }).success).toBe(false);
    expect(migrateRequestSchema.safeParse({ ...base, adopt: { pid: 4242, extra: 1 } }).success).toBe(false);
  });
});

describe('files carried with the images', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-carry-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('puts a missing or different file back as it was at the dump, and leaves the same file alone', async () => {
    const log = path.join(dir, 'var', 'app.log');
    const images = path.join(dir, 'images');
    await mkdir(path.dirname(log), { recursive: true });
    await writeFile(log, 'line 1\nline 2\n', { mode: 0o640 });
    const [carried] = await carryFiles([log], images);
    expect(carried).toMatchObject({ path: log, size: 14, mode: 0o640 });

    // Same host (rollback, shared storage): nothing is written.
    expect(await putBackFiles(images)).toEqual([]);

    // Another host without it, or with an older copy: written with its size, mode and mtime.
    const before = await stat(log, { bigint: true });
    await rm(path.join(dir, 'var'), { recursive: true });
    expect(await putBackFiles(images)).toEqual([log]);
    const after = await stat(log, { bigint: true });
    expect(await readFile(log, 'utf8')).toBe('line 1\nline 2\n');
    expect(after.mode & 0o777n).toBe(0o640n);
    // utimes takes seconds as a double: microseconds survive, give or take one.
    const drift = after.mtimeNs - before.mtimeNs;
    expect(drift < 0n ? -drift : drift).toBeLessThanOrEqual(2000n);
    await appendFile(log, 'stale\n');
    expect(await putBackFiles(images)).toEqual([log]);
    expect((await stat(log)).size).toBe(14);
  });

  it('changes nothing for a checkpoint without carried files', async () => {
    expect(await carryFiles([], path.join(dir, 'images'))).toEqual([]);
    expect(await putBackFiles(path.join(dir, 'images'))).toEqual([]);
  });
});
