// Pure judgement of a process tree that ferry did not start (facts from process-tree.ts): can
// CRIU move it to another host, and if not, what to change. docs/runtimes.md#adopting-a-running-process
// says the same in prose; what CRIU 4.2 itself accepted and refused is noted at each check.
import path from 'node:path';
import type { FdInfo, ProcInfo, TreeFacts } from './process-tree.js';

/** Stable names of the refusals (in the failure's details; tests and callers match on them). */
export const ADOPTION_PROBLEMS = [
  'thread',
  'exited',
  'kernel-thread',
  'worker-in-tree',
  'container',
  'other-user',
  'tty',
  'pipe-outside',
  'unix-outside',
  'tcp-connected',
  'left-behind',
  'deleted-file-too-big',
] as const;
export type AdoptionProblemCode = (typeof ADOPTION_PROBLEMS)[number];

export interface AdoptionProblem {
  code: AdoptionProblemCode;
  message: string;
}

/** CRIU's default --ghost-limit: an unlinked open file larger than this is not dumped. */
export const GHOST_LIMIT_BYTES = 1024 * 1024;

const who = (p: { pid: number; comm: string }) => `pid ${p.pid} (${p.comm})`;

/**
 * Everything that keeps this tree from moving; empty when CRIU can dump it here and restore it
 * on another host. `tcpEstablished`: the request carries --tcp-established.
 */
export function adoptionProblems(
  t: TreeFacts,
  opts: { host: string; tcpEstablished?: boolean },
): AdoptionProblem[] {
  const { root } = t;
  // Each of these makes every other question pointless.
  if (root.tgid !== root.pid)
    return [
      {
        code: 'thread',
        message: `pid ${root.pid} is a thread of process ${root.tgid}: adopt the process, --pid ${root.tgid}`,
      },
    ];
  if (root.state === 'Z' || root.state === 'X')
    return [
      {
        code: 'exited',
        message: `${who(root)} has exited (a zombie its parent has not reaped): nothing to migrate`,
      },
    ];
  if (root.pid === 2 || root.ppid === 2)
    return [
      { code: 'kernel-thread', message: `${who(root)} is a kernel thread: only user processes can move` },
    ];
  if (t.foreignNamespaces.length)
    return [
      {
        code: 'container',
        message:
          `${who(root)} runs in its own ${t.foreignNamespaces.join(', ')} namespace${t.foreignNamespaces.length > 1 ? 's' : ''}, ` +
          `not ${opts.host}'s: ${containerHint(t.cgroup)}`,
      },
    ];
  if (t.members.some((m) => m.pid === t.worker.pid))
    return [
      {
        code: 'worker-in-tree',
        message: `the tree of ${who(root)} includes this ferry worker (pid ${t.worker.pid}): adopt a process that does not run the worker`,
      },
    ];

  const problems: AdoptionProblem[] = [];
  const add = (code: AdoptionProblemCode, message: string) => problems.push({ code, message });
  const byPid = new Map(t.members.map((m) => [m.pid, m]));
  const fdName = (f: FdInfo) => `fd ${f.fd} of ${who(byPid.get(f.pid) ?? { pid: f.pid, comm: '?' })}`;

  // Measured: CRIU's dump of another user's process fails with "Can't get rlimit 0: Operation
  // not permitted" when the worker lacks CAP_SYS_RESOURCE (prlimit on another uid needs it).
  if (!t.worker.hasSysResource)
    for (const m of t.members.filter((m) => m.uid !== t.worker.uid))
      add(
        'other-user',
        `${who(m)} runs as uid ${m.uid} and this worker as uid ${t.worker.uid} without CAP_SYS_RESOURCE: ` +
          `CRIU cannot read its resource limits (prlimit). Give the worker CAP_SYS_RESOURCE, or run the process as the worker's user`,
      );

  // Measured: without --shell-job CRIU refuses a tty ("Found slave peer index 0 without
  // correspond master peer"); with it the dump works but the restore fails without the same
  // terminal ("Don't have tty to inherit session from"). A terminal stays on its host.
  for (const f of t.fds.filter((f) => f.kind === 'tty'))
    add(
      'tty',
      `${fdName(f)} is the terminal ${f.target}, which cannot move to another host: restart it detached ` +
        `from the terminal, e.g. setsid PROGRAM </dev/null >>/var/log/PROGRAM.log 2>&1 &`,
    );

  // Measured: CRIU dumps such a pipe and restores it with only the tree's end, so the reader
  // (or writer) outside is cut off and the first write fails with EPIPE.
  const memberPipes = new Set<number>();
  for (const f of t.fds.filter((f) => f.kind === 'pipe')) {
    const holder = t.outsideHolders[f.ino!];
    if (!holder || memberPipes.has(f.ino!)) continue;
    memberPipes.add(f.ino!);
    add(
      'pipe-outside',
      `${fdName(f)} is a pipe shared with ${who(holder)}, which is not in its tree and stays on ${opts.host}: ` +
        `after the move that end would be gone. Write to a file (or /dev/null) instead, or adopt a process that both descend from`,
    );
  }

  const sockets = new Map(t.sockets.map((s) => [s.ino, s]));
  const treeSockets = new Set(t.fds.filter((f) => f.kind === 'socket').map((f) => f.ino!));
  for (const f of t.fds.filter((f) => f.kind === 'socket')) {
    const s = sockets.get(f.ino!);
    if (!s) continue;
    // Measured: "External socket is used. Consider using --ext-unix-sk option."
    if (s.proto === 'unix' && s.peerIno && !treeSockets.has(s.peerIno)) {
      const holder = t.outsideHolders[s.peerIno];
      add(
        'unix-outside',
        `${fdName(f)} is a unix socket connected to ${holder ? who(holder) : `socket ${s.peerIno}`} outside its tree ` +
          `(e.g. syslog or the systemd journal), which stays on ${opts.host}: close it, or send the output to a file`,
      );
    }
    // Measured: "Connected TCP socket, consider using --tcp-established option."
    if (s.proto === 'tcp' && s.state === 'connected' && !opts.tcpEstablished)
      add(
        'tcp-connected',
        `${fdName(f)} holds a TCP connection ${s.local} → ${s.remote}: add --tcp-established to move it ` +
          `(its peer must then reach the same address on the destination), or close it first`,
      );
  }

  for (const p of t.groupOutsiders)
    add(
      'left-behind',
      `${who(p)} is in the ${p.sid === root.sid && root.sid === root.pid ? 'session' : 'process group'} of ${who(root)} ` +
        `but does not descend from it, so it would be left running on ${opts.host}: stop it, or adopt the process it descends from`,
    );

  for (const f of t.fds.filter((f) => f.deleted && f.kind === 'file' && (f.size ?? 0) > GHOST_LIMIT_BYTES))
    add(
      'deleted-file-too-big',
      `${fdName(f)} is the deleted file ${f.target} of ${f.size} bytes: CRIU copies deleted files into the ` +
        `images only up to ${GHOST_LIMIT_BYTES} bytes (--ghost-limit); close it first`,
    );
  return problems;
}

/** Which runtime moves the container a process belongs to, from its cgroup path. */
export function containerHint(cgroup: string): string {
  if (/docker/.test(cgroup))
    return 'it belongs to a docker container: migrate the container by its name with --runtime docker, without --pid';
  if (/libpod/.test(cgroup))
    return 'it belongs to a podman container: migrate the container by its name with --runtime podman, without --pid';
  if (/\/ferry\//.test(cgroup))
    return 'it belongs to a runc container that ferry runs: migrate it by its name with --runtime runc, without --pid';
  if (/kubepods/.test(cgroup)) return 'it belongs to a Kubernetes pod, which ferry does not migrate';
  return (
    'a container is migrated by its name with --runtime runc, podman or docker; a plain process tree must ' +
    "share the host's namespaces (it is restored into the destination's)"
  );
}

/**
 * Measured: CRIU refuses a root that does not lead its session ("The root process N is not a
 * session leader. Consider using --shell-job option"); with --shell-job the dump and restore
 * work, the restored tree joining the session of the restoring CRIU. A restore of such a dump
 * without --shell-job hung, so every restore of it must pass the option too.
 */
export const needsShellJob = (root: Pick<ProcInfo, 'pid' | 'sid'>): boolean => root.sid !== root.pid;

const inside = (dir: string, p: string) => p === dir || p.startsWith(dir + path.sep);

/**
 * Regular files the tree writes outside its workload folder (its logs): only their final size
 * matches CRIU's images, so ferry copies them with the images after the dump (carried-files.ts).
 */
export function filesToCarry(fds: FdInfo[], workloadDir: string): string[] {
  const files = fds.filter(
    (f) => f.kind === 'file' && f.writable && !f.deleted && !inside(workloadDir, f.target),
  );
  return [...new Set(files.map((f) => f.target))].sort();
}

/**
 * What must already exist on the destination, at the same path and size: files the tree reads,
 * its executables and mapped libraries, its working and root folders.
 */
export function pathsNeeded(t: Pick<TreeFacts, 'fds' | 'mappedPaths'>, workloadDir: string): string[] {
  const carried = new Set(filesToCarry(t.fds, workloadDir));
  const read = t.fds
    .filter((f) => (f.kind === 'file' || f.kind === 'dir') && !f.deleted)
    .map((f) => f.target);
  return [...new Set([...t.mappedPaths, ...read])]
    .filter((p) => p.startsWith('/') && !carried.has(p) && !inside(workloadDir, p))
    .sort();
}

/**
 * Where `ferry logs` finds what it prints: the regular file its stdout (else stderr) goes to,
 * or /dev/null when both are discarded. Undefined for anything else (a pipe inside the tree).
 */
export function outputTarget(fds: FdInfo[], rootPid: number): string | undefined {
  const of = (n: number) => fds.find((f) => f.pid === rootPid && f.fd === n);
  const file = [of(1), of(2)].find((f) => f?.kind === 'file' && !f.deleted);
  if (file) return file.target;
  return of(1)?.kind === 'null' || of(1) === undefined ? '/dev/null' : undefined;
}
