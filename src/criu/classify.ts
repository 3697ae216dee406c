// Which CRIU failures another attempt cannot change. Each attempt freezes the workload, so a
// failure that is a property of the workload (or of the host) must fail at once, naming the fix;
// only what may pass by itself is retried. Pure: a table over CRIU 4.2's own messages
// (test/fixtures/criu-messages/ holds real logs of most of them; docs/failure-handling.md).
import type { CriuOptionName, RuntimeCapabilities } from '../domain/capabilities.js';
import { ErrorType } from '../domain/errors.js';
import { criuProblemLines } from './log.js';

export type CriuVerdictType =
  | typeof ErrorType.NotCheckpointable
  | typeof ErrorType.InsufficientSpace
  | typeof ErrorType.ModeUnavailable
  | typeof ErrorType.CheckpointFailed;

export interface CriuFailureRule {
  /** Stable name of the rule (failure details, docs). */
  id: string;
  /** Matched against each problem line of CRIU's log (and the runtime's output), in log order. */
  pattern: RegExp;
  type: CriuVerdictType;
  /** What CRIU refused, for a person; may quote the match. */
  problem: string | ((m: RegExpExecArray) => string);
  fix: string;
  /** A request option that makes CRIU accept it, when the runtime can pass it on. */
  option?: CriuOptionName;
}

export interface CriuVerdict {
  rule: string;
  type: CriuVerdictType;
  /** False for everything but the transient rules: another attempt would fail the same way. */
  retryable: boolean;
  problem: string;
  fix: string;
  option?: CriuOptionName;
  /** CRIU's own line, as "Error (file:line): message". */
  said: string;
}

const CLOSE_OR_RESTART =
  'close it before migrating, or restart the workload on the destination instead of migrating it';

/** Address families CRIU 4.2 does not dump, by number (linux/socket.h). */
const FAMILY_NAMES: Record<string, string> = {
  '15': 'AF_KEY',
  '21': 'AF_RDS',
  '29': 'AF_CAN',
  '30': 'AF_TIPC',
  '31': 'AF_BLUETOOTH',
  '38': 'AF_ALG',
  '40': 'AF_VSOCK',
  '44': 'AF_XDP',
};

const NC = ErrorType.NotCheckpointable;

export const CRIU_FAILURE_RULES: readonly CriuFailureRule[] = [
  {
    id: 'tcp-established',
    pattern: /Connected TCP socket, consider using --tcp-established/,
    type: NC,
    option: 'tcpEstablished',
    problem:
      'the workload has a connected TCP socket (established, connecting or closing) and the request did not ask CRIU to carry connections',
    fix: 'migrate with --tcp-established (request tcpEstablished: true); the peer must reach the workload at the same address afterwards, which holds when the peer is part of the workload',
  },
  {
    id: 'mptcp',
    pattern: /consider using "GODEBUG=multipathtcp=0"/,
    type: NC,
    problem: 'a Go program of the workload uses Multipath TCP sockets, which CRIU cannot checkpoint',
    fix: 'start it with GODEBUG=multipathtcp=0',
  },
  {
    id: 'inet-unsupported',
    pattern: /inet: (Unsupported proto \d+|Unsupported socket (family|type)|Can't dump \d+ inet socket)/,
    type: NC,
    problem:
      'the workload has an IP socket of a protocol or type CRIU cannot checkpoint (it handles TCP, UDP, UDP-Lite and raw sockets; not SCTP, for example)',
    fix: CLOSE_OR_RESTART,
  },
  {
    id: 'socket-family',
    pattern: /Unknown socket collected \(family (\d+)\)|Unknown socket family(?: (\d+))?/,
    type: NC,
    problem: (m) => {
      const n = m[1] ?? m[2];
      const name = n && FAMILY_NAMES[n] ? ` (${FAMILY_NAMES[n]})` : '';
      return `the workload has a socket of address family ${n ?? '?'}${name}, which CRIU cannot checkpoint`;
    },
    fix: CLOSE_OR_RESTART,
  },
  {
    id: 'unix-external',
    pattern: /External socket is used\. Consider using --ext-unix-sk/,
    type: NC,
    problem:
      "a unix socket of the workload is connected to a process outside it (e.g. syslog's /dev/log, journald, a database's or docker's socket)",
    fix: 'make the peer part of the workload (the same process tree or container) or close the connection before migrating; ferry does not pass --ext-unix-sk, because that peer would not exist on the destination',
  },
  {
    id: 'file-locks',
    pattern: /Some file locks are hold by dumping tasks/,
    type: NC,
    option: 'fileLocks',
    problem: 'the workload holds file locks (flock or fcntl) and the request did not ask CRIU to carry them',
    fix: 'migrate with --file-locks (request fileLocks: true); the locked files must exist on the destination too',
  },
  {
    id: 'file-type',
    pattern: /Can't dump file \d+ of that type \[\d+\] \((.+)\)\s*$/,
    type: NC,
    problem: (m) =>
      `the workload holds a file CRIU cannot checkpoint (${m[1]}; e.g. a perf event, a userfaultfd, a BPF map, or a device such as /dev/kvm or /dev/fuse)`,
    fix: CLOSE_OR_RESTART,
  },
  {
    id: 'fd-not-passable',
    pattern: /send_fds failed \(-22\)/,
    type: NC,
    problem:
      "the kernel refused to hand one of the workload's file descriptors to CRIU (EINVAL: e.g. an io_uring instance, which cannot be passed between processes)",
    fix: CLOSE_OR_RESTART,
  },
  {
    id: 'tun',
    pattern: /Net namespace is required to dump tun link/,
    type: NC,
    problem: 'the workload holds a TUN/TAP device but has no network namespace of its own',
    fix: 'run it in its own network namespace (a container), or close the device',
  },
  {
    id: 'pidfd-outside',
    pattern: /pidfd pid \d+ is not a part of process tree/,
    type: NC,
    problem: 'the workload holds a pidfd of a process outside it',
    fix: CLOSE_OR_RESTART,
  },
  {
    id: 'mount-lookup',
    pattern: /Can't lookup mount=\d+ for fd=(\d+) path=(.+)$/,
    type: NC,
    problem: (m) =>
      `file descriptor ${m[1]} of the workload is a file on a mount CRIU does not checkpoint with it (${m[2]!.trim()})`,
    fix: 'keep its files on its own mounts; for a container its stdio must be pipes and its bind mounts declared in its config',
  },
  {
    id: 'overmounted',
    pattern: /Open files on overmounted mounts are not supported/,
    type: NC,
    problem: 'the workload has a file open on a mount that another mount now hides',
    fix: 'close the file or remove the covering mount before migrating',
  },
  {
    id: 'external-mount',
    pattern:
      /is autodetected external mount|has unreachable sharing|is a fuse mount but not external|isn't mount on the host|FS mnt .* unsupported/,
    type: NC,
    problem: (m) => `a mount of the workload cannot be recreated by CRIU (${m.input.trim()})`,
    fix: 'declare it as a bind mount in the container config (runc and podman pass those to CRIU as external), or remove it',
  },
  {
    id: 'external-netns',
    pattern:
      /Unable to dump a socket from an external network namespace|Unknown peer net namespace|Unable to find an external netns/,
    type: NC,
    problem: 'the workload holds a socket or link of a network namespace it does not own',
    fix: CLOSE_OR_RESTART,
  },
  {
    id: 'rlimit-permission',
    pattern: /Can't get rlimit \d+: Operation not permitted/,
    type: NC,
    problem:
      "a process of the workload runs as another user than the ferry worker and the worker lacks CAP_SYS_RESOURCE, so CRIU may not read that process's resource limits",
    fix: 'run the ferry worker with CAP_SYS_RESOURCE (full root: see CapEff in /proc/self/status), or run the workload as the same user as the worker',
  },
  {
    id: 'ptrace-denied',
    pattern: /Unable to interrupt task: \d+ \(Operation not permitted\)|Can't seize task/,
    type: NC,
    problem:
      'CRIU may not trace a process of the workload: another tracer (a debugger, strace) is attached to it, or it is protected from ptrace',
    fix: 'detach the debugger or strace (TracerPid in /proc/PID/status names it) and migrate again',
  },
  {
    id: 'seccomp',
    pattern:
      /Dumping seccomp filters not supported|couldn't suspend seccomp|Kernel doesn't support PTRACE_O_SUSPEND_SECCOMP/,
    type: NC,
    problem: 'the workload uses seccomp filters that this kernel does not let CRIU checkpoint',
    fix: 'migrate between hosts whose kernel passes criu check --feature seccomp_filters',
  },
  {
    id: 'shell-job',
    pattern: /is not a session leader\. Consider using --shell-job/,
    type: NC,
    problem:
      "the workload's first process is not a session leader (it shares a shell's session and terminal)",
    fix: 'start it as a session leader (setsid; ferry dev spawn does); ferry does not pass --shell-job',
  },
  {
    id: 'namespaces',
    pattern:
      /Can't dump nested .* namespace|Time namespaces are not supported|Can't dump a pid namespace without the process init|is outside of its pid namespace|Nested mount namespaces are not supported/,
    type: NC,
    problem:
      'the workload uses namespaces CRIU cannot checkpoint from this process (nested, or without their init)',
    fix: 'migrate the container as a whole (its init process), not a process inside it',
  },
  {
    id: 'uprobes',
    pattern: /has uprobes vma\. Consider using --allow-uprobes/,
    type: NC,
    problem: 'uprobes are attached to the workload (a tracer such as bpftrace)',
    fix: 'stop the tracing tool before migrating',
  },
  {
    id: 'compat-task',
    pattern: /running in 32-bit mode|with LDT descriptors/,
    type: NC,
    problem:
      'a process of the workload runs in 32-bit mode or uses LDT descriptors, which CRIU cannot checkpoint here',
    fix: CLOSE_OR_RESTART,
  },
  {
    id: 'ghost-limit',
    pattern: /Can't dump ghost file .* of \d+ size, increase limit/,
    type: NC,
    problem: "the workload holds a deleted file larger than CRIU's limit for deleted files",
    fix: 'close or truncate the deleted file before migrating (ferry does not raise --ghost-limit)',
  },
  {
    id: 'no-space',
    pattern: /No space left on device/,
    type: ErrorType.InsufficientSpace,
    problem: 'the host ran out of disk space while CRIU wrote the checkpoint',
    fix: "free space in the host's state folder (df STATE), then migrate again",
  },
  {
    id: 'no-dirty-tracking',
    pattern: /Tracking memory is not available/,
    type: ErrorType.ModeUnavailable,
    problem: 'this kernel does not track dirty pages (soft-dirty), which pre-copy rounds need',
    fix: 'migrate without --mode precopy (auto picks a mode this host can run)',
  },
  // Transient: the same workload may pass a moment later.
  {
    id: 'in-flight-connection',
    pattern: /In-flight connection/,
    type: ErrorType.CheckpointFailed,
    problem: 'a client was connecting to a listening socket of the workload at that instant',
    fix: 'ferry retries: the connection completes in a moment',
  },
  {
    id: 'tcp-state-changing',
    pattern: /Unknown inet socket \S+ state \d+/,
    type: ErrorType.CheckpointFailed,
    problem: 'a TCP socket of the workload was in a passing state CRIU does not dump',
    fix: 'ferry retries: the socket leaves that state by itself',
  },
  {
    id: 'freeze-timeout',
    pattern: /Timeout reached\. Try to interrupt|Unable to freeze cgroup/,
    type: ErrorType.CheckpointFailed,
    problem: "the workload's processes did not stop in time",
    fix: 'ferry retries; if it keeps failing, the workload may be stuck in the kernel (D state)',
  },
];

const TRANSIENT = new Set<string>(
  CRIU_FAILURE_RULES.filter((r) => r.type === ErrorType.CheckpointFailed).map((r) => r.id),
);

/**
 * The verdict on a failed dump from CRIU's log and the runtime's own output, or undefined when
 * no rule knows the failure (it is then treated as transient: retried). The first problem line
 * (log order) that a rule matches decides: CRIU's root cause comes before its consequences.
 */
export function classifyCriuFailure(log: string, output = ''): CriuVerdict | undefined {
  const lines = [...criuProblemLines(log), ...output.split('\n').map((l) => l.trim())].filter(Boolean);
  for (const said of lines)
    for (const rule of CRIU_FAILURE_RULES) {
      const m = rule.pattern.exec(said);
      if (!m) continue;
      return {
        rule: rule.id,
        type: rule.type,
        retryable: TRANSIENT.has(rule.id),
        problem: typeof rule.problem === 'string' ? rule.problem : rule.problem(m),
        fix: rule.fix,
        ...(rule.option ? { option: rule.option } : {}),
        said,
      };
    }
  return undefined;
}

/** CRIU spells each request option as this flag. */
const FLAG: Record<CriuOptionName, string> = {
  tcpEstablished: '--tcp-established',
  fileLocks: '--file-locks',
};

/**
 * The fix for this runtime: an option it cannot pass to CRIU (docker cannot pass any) is no
 * fix, so the verdict's advice is replaced by what can be done instead.
 */
export function fixFor(v: Pick<CriuVerdict, 'fix' | 'option'>, caps: RuntimeCapabilities): string {
  if (!v.option || caps.criuOptions.includes(v.option)) return v.fix;
  return `${caps.runtime} cannot pass ${FLAG[v.option]} to CRIU: ${
    v.option === 'tcpEstablished' ? 'close the connections' : 'release the locks'
  } before migrating, or run the workload with a runtime that can (${FLAG[v.option]}: runc, process, podman)`;
}
