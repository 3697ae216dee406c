// Hibernation of a host through its own reboot (docs/hibernation.md): the request, the per-workload
// rows and the result every caller sees, the workflow's names, and the pure rules (what counts
// as "back after a reboot", where a snapshot store survives one, where copies go). Pure and
// deterministic: the workflow, the activities, the client and the CLI share it.
import type { RuntimeName } from './names.js';

export const HIBERNATE_WORKFLOW = 'hibernateHost';
export const hibernationWorkflowId = (host: string) => `hibernate-${host}`;
/** Signal a host's worker sends when it starts: its boot id (docs/hibernation.md). */
export const HOST_BACK_SIGNAL = 'hostBack';
export const HIBERNATION_QUERY = 'hibernation';
export const HIBERNATE_SCHEDULE_PREFIX = 'hibernate-';

export interface HibernateRequest {
  host: string;
  runtimes?: RuntimeName[];
  /** Shell-style name filter, e.g. "db-*". */
  namePattern?: string;
  labels?: Record<string, string>;
  /**
   * ISO time by which the host should be back. With fallbackHosts: past it, the workloads are
   * restored there from the copies made before the reboot. Without: the run is marked overdue
   * (phase and search attribute) and keeps waiting.
   */
  deadline?: string;
  /** Opt-in: copy each snapshot to one of these hosts before the reboot (it moves data off). */
  fallbackHosts?: string[];
  /** Checkpoints (and restores) at once; default 2. */
  concurrency?: number;
  /** Set by continue-as-new: where a long wait left off. */
  resume?: HibernationResult;
}

export type HibernationPhase =
  | 'checking'
  | 'checkpointing'
  | 'copying'
  | 'ready-to-reboot'
  | 'overdue'
  | 'restoring'
  | 'restoring-elsewhere'
  | 'done';

export type HibernationOutcome =
  /** Every hibernated workload runs again on the host. */
  | 'resumed'
  /** Some do; the rows say which did not and the command that retries each. */
  | 'partly-resumed'
  /** The host did not come back by the deadline: restored on the fallback hosts. */
  | 'restored-elsewhere'
  /** Nothing was stopped: the request or the host cannot hibernate (cause says why). */
  | 'refused'
  /** Cancelled: what was hibernated was restored on the host there and then (the rows say). */
  | 'cancelled';

export type HibernationRowState =
  | 'pending'
  | 'checkpointing'
  /** Its snapshot is taken and it is stopped: it waits for the reboot. */
  | 'hibernated'
  /** Its checkpoint failed: it was left running (see running). */
  | 'checkpoint-failed'
  | 'restoring'
  | 'restored'
  /** It could not be restored: its snapshot is kept; retryCommand brings it back. */
  | 'restore-failed'
  | 'restored-elsewhere';

export interface HibernationRow {
  workload: string;
  runtime: RuntimeName;
  state: HibernationRowState;
  snapshotId?: string;
  /** Where its fallback copy is (only with fallbackHosts). */
  copiedTo?: string;
  /** Where it runs now, once restored. */
  restoredOn?: string;
  /** After a failed checkpoint: whether it still runs (it should: CRIU resumes it). */
  running?: boolean;
  /** The checkpoint step, and how long CRIU had it frozen (CRIU's figure: the dump itself). */
  checkpointMs?: number;
  frozenMs?: number;
  /** The restore step, and CRIU's own restore time within it. */
  restoreMs?: number;
  criuRestoreMs?: number;
  cause?: string;
  /** For a workload that did not come back: the command that restores it from its snapshot. */
  retryCommand?: string;
}

export interface HibernationResult {
  host: string;
  phase: HibernationPhase;
  outcome?: HibernationOutcome;
  cause?: { type: string; message: string };
  rows: HibernationRow[];
  /** The host's boot id when the hibernation began, and the one it came back with. */
  bootIdBefore?: string;
  bootIdAfter?: string;
  /** Whether the host was cordoned before (then it stays cordoned afterwards). */
  wasCordoned?: boolean;
  startedAtMs: number;
  readyAtMs?: number;
  backAtMs?: number;
  doneAtMs?: number;
  /** From the request to "ready to reboot", and from the worker's return to every workload running. */
  readyMs?: number;
  resumeMs?: number;
  notes: string[];
}

/** What a host's worker tells a waiting hibernation when it starts (and when asked). */
export interface HostBoot {
  host: string;
  bootId: string;
  /** When the worker said so (its clock): the start of "worker back → running". */
  atMs?: number;
}

/** A boot id as the kernel gives it (/proc/sys/kernel/random/boot_id): a UUID. */
export const BOOT_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Back after a reboot: a valid boot id other than the one it had (a worker restart keeps it). */
export function rebootedSince(before: string | undefined, now: string | undefined): boolean {
  return !!before && !!now && BOOT_ID_RE.test(now) && now !== before;
}

// statfs f_type of file systems whose content a reboot loses.
const VOLATILE_FS: Record<number, string> = { 0x01021994: 'tmpfs', 0x858458f6: 'ramfs' };
const VOLATILE_PREFIXES = ['/run', '/var/run', '/dev/shm'];
/** Emptied at boot on most systemd hosts even when on disk (tmpfiles.d), but not on a simulated host. */
const EMPTIED_AT_BOOT = ['/tmp'];

/**
 * Why a snapshot store at this path would not survive a reboot, or undefined when it would.
 * fsType is statfs's f_type of the store (or of its nearest existing parent). A simulated host
 * (ferry dev: its own boot id file) never really reboots, so /tmp is fine there.
 */
export function volatileStoreReason(
  storePath: string,
  fsType: number | undefined,
  opts: { simulated?: boolean } = {},
): string | undefined {
  const prefixes = opts.simulated ? VOLATILE_PREFIXES : [...VOLATILE_PREFIXES, ...EMPTIED_AT_BOOT];
  const under = prefixes.find((p) => storePath === p || storePath.startsWith(`${p}/`));
  const fs = fsType === undefined ? undefined : VOLATILE_FS[fsType];
  if (!under && !fs) return undefined;
  const where = fs ? `is on ${fs}` : `is under ${under}`;
  return `the snapshot store ${storePath} ${where}, which a reboot empties: hibernation would lose every workload. Put the host's stateDir on a disk that survives a reboot (its snapshots/ folder is the store)`;
}

/** Spreads snapshots over the fallback hosts in turn (deterministic: rows in order). */
export function fallbackAssignments(
  workloads: readonly string[],
  hosts: readonly string[],
): Map<string, string> {
  const out = new Map<string, string>();
  if (!hosts.length) return out;
  workloads.forEach((w, i) => out.set(w, hosts[i % hosts.length]!));
  return out;
}

/** The outcome once the restores are done (refused is decided before anything stops). */
export function hibernationOutcome(rows: readonly HibernationRow[], elsewhere: boolean): HibernationOutcome {
  const hibernated = rows.filter((r) => r.snapshotId);
  if (elsewhere && hibernated.some((r) => r.state === 'restored-elsewhere')) return 'restored-elsewhere';
  return hibernated.every((r) => r.state === 'restored') ? 'resumed' : 'partly-resumed';
}

/** The command an operator runs to bring back a workload from its kept snapshot. */
export function retryCommand(snapshotId: string, host: string): string {
  // --replace: removes a stopped container the hibernation left under the name (nothing runs).
  return `ferry restore ${snapshotId} --host ${host} --replace`;
}

/** The run's current details in the Temporal UI (markdown). */
export function hibernationDetails(r: HibernationResult): string {
  const head: Record<HibernationPhase, string> = {
    checking: `Hibernating **${r.host}**: checking the host`,
    checkpointing: `Hibernating **${r.host}**: checkpointing its workloads`,
    copying: `Hibernating **${r.host}**: copying snapshots to the fallback hosts`,
    'ready-to-reboot': `**${r.host} is ready to reboot.** Waiting for its worker to come back with a new boot id`,
    overdue: `**${r.host} is overdue**: not back by the deadline; still waiting for it`,
    restoring: `**${r.host} is back** (new boot id): restoring its workloads`,
    'restoring-elsewhere': `**${r.host} did not come back by the deadline**: restoring on the fallback hosts`,
    done: `Hibernation of **${r.host}**: ${r.outcome ?? 'done'}`,
  };
  const rows = r.rows
    .map(
      (x) =>
        `| ${x.runtime}/${x.workload} | ${x.state} | ${x.snapshotId ?? '-'} | ${x.restoredOn ?? x.copiedTo ?? '-'} | ${x.cause ?? ''}${x.retryCommand ? ` retry: \`${x.retryCommand}\`` : ''} |`,
    )
    .join('\n');
  const notes = r.notes.length ? `\n\n${r.notes.map((n) => `- ${n}`).join('\n')}` : '';
  return `${head[r.phase]}\n\n| workload | state | snapshot | host | cause |\n|---|---|---|---|---|\n${rows}${notes}`;
}
