import type { CgroupLayout } from './cgroup-layout.js';
import type { MigrationMode, RequestedMode } from './modes.js';
import type { RuntimeName } from './names.js';
import type { PrecopyRequest, PrecopySummary } from './precopy.js';

/** How long a restored workload must keep running when the request does not say. */
export const DEFAULT_VERIFY_WINDOW_MS = 2_000;

/** Input of the `migrate` workflow (documented JSON: docs/workflows.md). */
export interface MigrateRequest {
  workload: string;
  runtime: RuntimeName;
  source: string;
  destination: string;
  /** How long the restored workload must stay up before the migration counts as done. */
  verifyWindowMs?: number;
  /** Keep checkpoint images on both hosts after success (debugging). */
  keepImages?: boolean;
  /**
   * Last resort when the source cannot be restored from its checkpoint after a failure: start
   * the workload fresh on the source (its in-memory state is lost; outcome restarted-fresh).
   */
  allowStartFresh?: boolean;
  /** How to move memory (docs/migration-modes.md); auto by default. */
  mode?: RequestedMode;
  /**
   * Required with mode postcopy: once the lazy restore has started, a failure loses the
   * workload on both hosts.
   */
  acceptPostcopyRisk?: boolean;
  /** Tuning of the pre-copy rounds when the mode is precopy (docs/precopy.md). */
  precopy?: PrecopyRequest;
  /** Checkpoint established TCP connections and restore them (CRIU --tcp-established). */
  tcpEstablished?: boolean;
  /** Checkpoint file locks the workload holds (CRIU --file-locks). */
  fileLocks?: boolean;
  /**
   * Containers: a stopped container of the same name on the destination (one ferry did not
   * create) is removed just before the restore instead of refusing the migration. A running one
   * is always refused.
   */
  replaceStopped?: boolean;
  /**
   * podman, docker: when the destination lacks the container's image, ship it there before the
   * freeze (save, rsync over SSH, load, verified by image id). Default true; false refuses instead.
   */
  shipImage?: boolean;
  /**
   * Process runtime only: take over a running process tree that ferry did not start, found on
   * the source by exactly one of these; it is workload `workload` from then on, on both hosts
   * (docs/runtimes.md#adopting-a-running-process).
   */
  adopt?: AdoptTarget;
}

/** How the source finds the root of a process tree to adopt: exactly one field. */
export interface AdoptTarget {
  pid?: number;
  /** Absolute path of a file on the source holding the pid (a daemon's pid file). */
  pidFile?: string;
  /** A systemd service on the source (`NAME.service`): its MainPID. */
  unit?: string;
}

/** The request's CRIU options that checkpoint and restore (also a rollback's) must both use. */
export interface CriuOptions {
  tcpEstablished?: boolean;
  fileLocks?: boolean;
}

/** What a workload needs on the destination (from the source's runtime). */
export interface WorkloadNeeds {
  /** Image the container runs; it must exist on the destination under this name. */
  image?: string;
  /** The id of that image on the source ("sha256:…"): what a shipped image must match. */
  imageId?: string;
  /** Host paths bind-mounted into the container; they must exist on the destination. */
  hostPaths?: string[];
}

export type Phase =
  | 'validating'
  | 'preflight'
  | 'ship-image'
  | 'presync'
  | 'precopy'
  | 'checkpoint'
  | 'transfer'
  | 'restore'
  | 'postcopy'
  | 'verify'
  | 'cleanup'
  | 'rollback'
  | 'done'
  | 'failed';

export const OUTCOMES = [
  'migrated',
  'rolled-back',
  /** A preflight said no (bad or impossible request): nothing was frozen, changed or left. */
  'refused',
  'failed-before-freeze',
  'cancelled',
  'restarted-fresh',
  'failed-needs-operator',
  /** Post-copy failed after the destination had started the workload: lost on both hosts. */
  'failed-postcopy-lost',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Signal input of `resolve`: an operator's word on a host the workflow cannot reach. */
export interface ResolveSignal {
  /** The destination is down for good and runs no copy: roll back without its confirmation. */
  destinationIsDown?: boolean;
}

/** Figures CRIU writes to stats-dump / stats-restore. Times in microseconds. */
export interface CriuDumpStats {
  freezingTimeUs?: number;
  frozenTimeUs?: number;
  memdumpTimeUs?: number;
  memwriteTimeUs?: number;
  pagesScanned?: number;
  pagesSkippedParent?: number;
  pagesWritten?: number;
  pagesLazy?: number;
}
export interface CriuRestoreStats {
  pagesCompared?: number;
  pagesSkippedCow?: number;
  forkingTimeUs?: number;
  restoreTimeUs?: number;
  pagesRestored?: number;
}

export interface WorkloadInfo {
  name: string;
  runtime: RuntimeName;
  running: boolean;
  pid?: number;
  /** Resident memory of the workload's process tree, bytes. */
  rssBytes?: number;
  /** Labels given at start (runc: OCI annotations "ferry.label.<key>"); they travel with it. */
  labels?: Record<string, string>;
  /** What the destination must provide (images, bind-mounted host paths). */
  needs?: WorkloadNeeds;
}

export interface HostFacts {
  host: string;
  criuVersion: string;
  kernel: string;
  freeBytes: number;
  freeMemoryBytes: number;
  runtimes: RuntimeName[];
  /** Undefined when this host can take part in a post-copy migration, else why not. */
  postcopyUnavailable?: string;
  /** The kernel tracks dirty pages (`criu check --feature mem_dirty_track`): pre-copy can run. */
  dirtyTracking: boolean;
  /** Why not, when dirtyTracking is false (CRIU's own words). */
  dirtyTrackingReason?: string;
  /** How /sys/fs/cgroup is mounted: containers move only between hosts of one layout (docs/cgroups.md). */
  cgroupLayout: CgroupLayout;
}

/** What a host's worker says about itself when asked (ferry hosts, the liveness probe). */
export interface HostInfo {
  host: string;
  ferryVersion: string;
  /** From `criu --version` on the worker's PATH (not `criu check`); absent: criuProblem says why. */
  criuVersion?: string;
  criuProblem?: string;
  kernel: string;
  runtimes: RuntimeName[];
  stateDir: string;
  /** Free bytes in the state folder's file system (for the unprivileged: what they may use). */
  freeBytes: number;
  workerPid: number;
}

export interface PreflightSourceResult {
  facts: HostFacts;
  workload: WorkloadInfo;
}

export interface CheckpointResult {
  /** Epoch ms when the workload was frozen (start of the final dump): downtime starts. */
  frozenAtMs: number;
  durationMs: number;
  imageBytes: number;
  stats: CriuDumpStats;
}

/** Post-copy, source: the frozen workload's memory is served from here. */
export interface LazyDumpResult extends CheckpointResult {
  lazyServer: { address: string; port: number };
}

/** The steps whose CRIU command freezes the workload. */
export type FreezeStep = 'checkpoint' | 'pre-dump' | 'lazy-dump';

/**
 * One CRIU command of a migration that could freeze the workload, as the source host recorded
 * it (STATE/logs/<migrationId>/freezes.jsonl): retried attempts and attempts whose worker died
 * are there too.
 */
export interface FreezeAttempt {
  /** "checkpoint-2": the second final-dump attempt of this migration. */
  attempt: string;
  step: FreezeStep;
  /** Epoch ms when the command started. */
  atMs: number;
  /** CRIU seized (froze) the workload's tasks; false when it failed before that. */
  froze: boolean;
  frozenMs?: number;
  /**
   * Where frozenMs comes from: CRIU's stats-dump, the timestamps of CRIU's log (a failed
   * attempt: seized → unfrozen), or the step's own duration (no CRIU figure: an upper bound).
   */
  measuredBy?: 'criu-stats' | 'criu-log' | 'step-duration';
  /** dumped: CRIU finished; failed: it failed and resumed the workload; unknown: not yet settled. */
  outcome: 'dumped' | 'failed' | 'unknown';
  /** The CRIU log of a failed attempt, kept under STATE/logs/<migrationId>/ (retention applies). */
  log?: string;
}

/** A CRIU log ferry kept after a failed step, with the lines that explain it. */
export interface KeptCriuLog {
  host: string;
  path: string;
  /** criuLogExcerpt(): version, problem lines with context, last lines. */
  excerpt: string[];
}

/** What one host recorded about a migration: its freezes and the CRIU logs it kept. */
export interface MigrationHostRecord {
  host: string;
  freezes: number;
  frozenMsTotal: number;
  attempts: FreezeAttempt[];
  logs: KeptCriuLog[];
}

export interface TransferResult {
  bytesSent: number;
  durationMs: number;
}

export interface RestoreResult {
  /** Epoch ms when the restored workload was running again: downtime ends. */
  runningAtMs: number;
  durationMs: number;
  pid?: number;
  stats: CriuRestoreStats;
  /** True when an earlier attempt had already restored it (idempotent retry). */
  alreadyRestored: boolean;
}

export interface PhaseTiming {
  phase: Phase;
  startedAtMs: number;
  durationMs: number;
}

export interface MigrationResult {
  migrationId: string;
  /** What the migration changed on a host besides the workload, because the request asked (e.g. replaceStopped). */
  notes?: string[];
  workload: string;
  runtime: RuntimeName;
  source: string;
  destination: string;
  outcome: Outcome;
  /** Why it did not migrate (error type and message), when it did not. */
  cause?: { type: string; message: string };
  /** What happened during rollback, and for failed-needs-operator exactly what to run. */
  rollback?: string;
  /** Freeze to running-again, from the hosts' clocks (same clock on simulated hosts). */
  downtimeMs?: number;
  totalMs: number;
  bytesTransferred: number;
  imageBytes?: number;
  phases: PhaseTiming[];
  criu: { dump?: CriuDumpStats; restore?: CriuRestoreStats };
  criuVersions: { source?: string; destination?: string };
  /** The mode that ran and why it was chosen (e.g. why pre-copy was skipped). */
  mode?: MigrationMode;
  modeReason?: string;
  /** Streamed mode: where the destination's page server listened; post-copy: the source's lazy one. */
  pageServer?: { address: string; port: number };
  /** Present when the mode was precopy: its rounds and why they stopped. */
  precopy?: PrecopySummary;
  /** Post-copy: from the restored workload running until the source was released (all pages moved). */
  postcopyMs?: number;
  /**
   * How many times the workload was frozen on the source: every final-dump, pre-dump and lazy-dump
   * attempt whose CRIU seized it, failed and retried ones included (docs/failure-handling.md).
   */
  freezes: number;
  /** Sum of those freezes (CRIU's figures; for a completed final dump, until the dump ended). */
  frozenMsTotal: number;
  /** The attempts behind `freezes`, in order. */
  freezeAttempts?: FreezeAttempt[];
  /** Set when the source's record could not be read: freezes then counts only what the workflow saw. */
  freezesUnknown?: string;
  /** CRIU logs of failed steps, kept on the host that ran them (`ferry show` prints their excerpt). */
  criuLogs?: KeptCriuLog[];
  /** The container's image, when the destination lacked it and ferry shipped it (shipImage). */
  image?: ImageShipment;
}

/** What the ship-image phase did (docs/runtimes.md#images-the-destination-lacks). */
export interface ImageShipment {
  /** The name the container was created from, now on the destination too. */
  image: string;
  /** Its id on both hosts ("sha256:…"), checked after the load. */
  imageId: string;
  /**
   * true: saved, sent and loaded. false: the destination had that id under another name, so only
   * the name was added.
   */
  shipped: boolean;
  /** The image did not exist on the destination before: removed again if the migration ends before the freeze. */
  createdOnDestination: boolean;
  /** Set when a migration that ended before the freeze removed it again. */
  removedAfterFailure?: boolean;
  /** Size of the archive (`podman save` / `docker save`) and what rsync sent of it. */
  archiveBytes?: number;
  bytesSent?: number;
  saveMs?: number;
  shipMs?: number;
  loadMs?: number;
}

export interface MigrationProgress {
  phase: Phase;
  workload: string;
  runtime: RuntimeName;
  source: string;
  destination: string;
  phases: PhaseTiming[];
  /** Bytes sent by the copy steps that have finished. */
  bytesTransferred: number;
  rollback?: string;
  /**
   * The copy step running now, from its activity's latest heartbeat (rsync's own counter).
   * Filled in by FerryClient.getLiveProgress; the workflow's `progress` query alone never has it.
   */
  live?: LiveTransfer;
  /**
   * A step of it waits for a slot of its host's limit (hosts[].limits), e.g. "waiting for a CRIU
   * slot on node-a (2nd in line, 2 of 2 busy)": from the heartbeat, like `live`.
   */
  waitingForSlot?: string;
}

/** What a running presync or transfer activity reports in its heartbeats. */
export interface LiveTransfer {
  phase: 'presync' | 'transfer';
  bytes: number;
  percent?: number;
  /** rsync's own rate, e.g. "112.45MB/s". */
  rate?: string;
}
