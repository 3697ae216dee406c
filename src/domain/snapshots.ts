// Snapshots as every caller sees them: the record the catalog keeps, ids, requests and results,
// the catalog entity's names, retention and the catalog/disk comparison. Pure and deterministic
// (workflows, activities, the client and the CLI share it). docs/snapshots.md tells the story.
import type { CriuOptions } from './types.js';
import type { RuntimeName } from './names.js';

/** One kept checkpoint of a workload, as the catalog holds it. */
export interface SnapshotRecord {
  id: string;
  workload: string;
  runtime: RuntimeName;
  /** Where it was taken. */
  host: string;
  createdAtMs: number;
  /** Bytes on disk of one copy (images and the workload's files). */
  sizeBytes: number;
  /** sha256 over the manifest of every file in it (path, size, sha256): verified before restore. */
  checksum: string;
  /** Hosts that hold a copy (the one it was taken on first). */
  copies: string[];
  /** The snapshot an incremental one depends on; absent for a full snapshot. */
  parent?: string;
  /** Why this one is full (no dirty-page tracking here, the runtime, the first of a run, ...). */
  fullBecause?: string;
  /** Its dump reset the dirty-page bits (CRIU --track-mem): the next one may build on it. */
  trackedMem?: boolean;
  /** The process instance it was taken of (pid@start time): a parent must be of the same one. */
  incarnation?: string;
  /** The workload kept running (the default) or was stopped by the snapshot (--stop). */
  leftRunning: boolean;
  /** How long the workload was frozen for it (CRIU's own figure when it gives one). */
  frozenMs?: number;
  /** CRIU's figures: memory pages this snapshot wrote, and those it left to its parent. */
  pagesWritten?: number;
  pagesFromParent?: number;
  criuVersion?: string;
  kernel?: string;
  /** Containers: the id of the image it runs ("sha256:…"); a restore host must have it. */
  imageId?: string;
  image?: string;
  /** The root pid when it was taken: a process snapshot comes back with the PIDs it had. */
  pid?: number;
  /** The CRIU options it was taken with: a restore passes the same. */
  criu?: CriuOptions;
  /** The schedule (series) that made it; retention only ever removes its own series. */
  series?: string;
  note?: string;
}

export const SNAPSHOT_CATALOG_WORKFLOW = 'snapshotCatalog';
export const SNAPSHOT_CATALOG_ID = 'ferry-snapshot-catalog';
/** Updates (read-after-write: they return once the catalog holds the change) and the query. */
export const RECORD_SNAPSHOT_UPDATE = 'recordSnapshot';
export const SNAPSHOT_COPY_UPDATE = 'snapshotCopy';
export const FORGET_SNAPSHOT_UPDATE = 'forgetSnapshot';
export const SNAPSHOTS_QUERY = 'snapshots';

export interface CatalogState {
  snapshots: SnapshotRecord[];
}
/** A copy appeared on a host (present) or was removed there. */
export interface SnapshotCopyChange {
  id: string;
  host: string;
  present: boolean;
}

// Ids: the workload's name, the UTC time, 4 hex digits. They end up in paths and workflow ids.
export const SNAPSHOT_ID_RE = /^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?-\d{8}t\d{6}z-[0-9a-f]{4}$/;

export function snapshotId(workload: string, atMs: number, suffix: string): string {
  const t = new Date(atMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
  return `${workload}-${t}-${suffix
    .toLowerCase()
    .replace(/[^0-9a-f]/g, '0')
    .padEnd(4, '0')
    .slice(0, 4)}`;
}

/** An error message naming the problem and the fix, or undefined when valid. */
export function checkSnapshotId(value: unknown): string | undefined {
  if (typeof value !== 'string' || !value) return 'snapshot id is missing';
  if (value.includes('/') || value.includes('..'))
    return `snapshot id "${value}" contains "/" or "..": ids are not paths`;
  return SNAPSHOT_ID_RE.test(value)
    ? undefined
    : `"${value}" is not a snapshot id (NAME-YYYYMMDDtHHMMSSz-XXXX, as ferry snapshot ls prints them)`;
}

export const snapshotCreateWorkflowId = (id: string) => `snapshot-create-${id}`;
export const snapshotRemoveWorkflowId = (id: string) => `snapshot-rm-${id}`;
export const snapshotCopyWorkflowId = (id: string, host: string) => `snapshot-copy-${id}-${host}`;
/** One restore per workload name on a host at a time. */
export const snapshotRestoreWorkflowId = (runtime: RuntimeName, host: string, workload: string) =>
  `restore-${runtime}-${host}-${workload}`;
export const SNAPSHOT_SCHEDULE_PREFIX = 'snapshot-';
export const snapshotScheduleId = (runtime: RuntimeName, host: string, workload: string) =>
  `${SNAPSHOT_SCHEDULE_PREFIX}${runtime}-${host}-${workload}`;

export interface SnapshotCreateRequest {
  workload: string;
  runtime: RuntimeName;
  host: string;
  /** Stop the workload instead of leaving it running. */
  stop?: boolean;
  criu?: CriuOptions;
  note?: string;
  /** Given by the client; a scheduled run makes its own. */
  snapshotId?: string;
  series?: string;
}

export type SnapshotOutcome = 'created' | 'restored' | 'removed' | 'copied' | 'refused' | 'failed';

export interface SnapshotFailure {
  type: string;
  message: string;
}

export interface SnapshotCreateResult {
  outcome: 'created' | 'refused' | 'failed';
  id: string;
  snapshot?: SnapshotRecord;
  /** How long the workload was frozen (CRIU's figure), and the whole step. */
  frozenMs?: number;
  durationMs: number;
  cause?: SnapshotFailure;
}

export interface SnapshotRestoreRequest {
  snapshotId: string;
  host: string;
  /** Start a copy under this name (clone); the snapshot's workload name otherwise. */
  as?: string;
  /** Revert a workload that runs under that name on the host to the snapshot. */
  replace?: boolean;
  /** With replace: do not keep its current state as a snapshot first. */
  discardCurrent?: boolean;
  /** Restore it paused (frozen), e.g. to attach a debugger. */
  paused?: boolean;
}

export interface SnapshotRestoreResult {
  outcome: 'restored' | 'refused' | 'failed';
  id: string;
  workload: string;
  runtime?: RuntimeName;
  host: string;
  pid?: number;
  paused?: boolean;
  /** The command that lets a paused workload go on. */
  resumeCommand?: string;
  /** With replace: the snapshot of the state it had before. */
  keptSnapshot?: string;
  /** The snapshot was copied to the host first. */
  copiedFrom?: string;
  restoreMs?: number;
  /** CRIU's own restore time (its stats), within restoreMs. */
  criuRestoreMs?: number;
  durationMs: number;
  notes?: string[];
  cause?: SnapshotFailure;
}

export interface SnapshotRemoveResult {
  outcome: 'removed' | 'refused' | 'failed';
  id: string;
  removedFrom: string[];
  cause?: SnapshotFailure;
}

export interface SnapshotCopyResult {
  outcome: 'copied' | 'refused' | 'failed';
  id: string;
  from?: string;
  to: string;
  bytesSent?: number;
  durationMs: number;
  cause?: SnapshotFailure;
}

/** A scheduled series: each run takes one and applies the retention. */
export interface ScheduledSnapshotRequest extends SnapshotCreateRequest {
  series: string;
  keep: number;
  maxAgeMs?: number;
}

export interface ScheduledSnapshotResult {
  created: SnapshotCreateResult;
  removed: string[];
  /** Past the retention but kept because another snapshot depends on them. */
  keptForDependents: string[];
}

/** Snapshots that depend on this one (incremental children). */
export function dependentsOf(records: readonly SnapshotRecord[], id: string): string[] {
  return records.filter((r) => r.parent === id).map((r) => r.id);
}

/**
 * Retention of one series: all but the newest `keep`, and any older than maxAgeMs, go; but never
 * one that a snapshot which stays depends on.
 */
export function retentionVictims(
  records: readonly SnapshotRecord[],
  rule: { series: string; keep: number; maxAgeMs?: number; nowMs: number },
): { remove: string[]; keptForDependents: string[] } {
  const series = records
    .filter((r) => r.series === rule.series)
    .sort((a, b) => b.createdAtMs - a.createdAtMs);
  const expired = new Set(
    series
      .filter(
        (r, i) =>
          i >= rule.keep || (rule.maxAgeMs !== undefined && rule.nowMs - r.createdAtMs > rule.maxAgeMs),
      )
      .map((r) => r.id),
  );
  // A parent stays while any of its descendants stays (walk from the newest down).
  const needed = new Set<string>();
  for (const r of series)
    if (!expired.has(r.id) || needed.has(r.id)) {
      let p = r.parent;
      while (p) {
        needed.add(p);
        p = records.find((x) => x.id === p)?.parent;
      }
    }
  const oldestFirst = [...expired].reverse();
  return {
    remove: oldestFirst.filter((id) => !needed.has(id)),
    keptForDependents: oldestFirst.filter((id) => needed.has(id)),
  };
}

export interface ParentChoice {
  /** The snapshot this one is incremental on. */
  parent?: string;
  /** Dump with --track-mem, so that a later snapshot can build on this one. */
  track: boolean;
  fullBecause?: string;
}

/** Why no snapshot of this runtime on such a host can build on another; undefined when one can. */
export function unchainableBecause(a: {
  runtime: RuntimeName;
  dirtyTracking: boolean;
  dirtyTrackingReason?: string;
}): string | undefined {
  // The host's reason is a whole sentence already (dirtyTrackingSupport).
  if (!a.dirtyTracking)
    return (
      a.dirtyTrackingReason ?? 'this kernel does not track dirty pages (criu check --feature mem_dirty_track)'
    );
  if (a.runtime !== 'process')
    return a.runtime === 'runc'
      ? 'runc turns dirty-page tracking on only for a dump that already has a parent'
      : `${a.runtime}'s checkpoint archive takes no parent images`;
  return undefined;
}

/**
 * Whether a new snapshot can be incremental, and on which: only where unchainableBecause says
 * nothing, and only on the snapshot whose dump last reset the dirty-page bits of this very
 * process instance (any dump since, or a restart, would hide dirtied pages).
 */
export function chooseSnapshotParent(
  a: Parameters<typeof unchainableBecause>[0] & {
    incarnation?: string;
    lastTracked?: { by: string; incarnation?: string };
    local: readonly Pick<SnapshotRecord, 'id' | 'incarnation' | 'trackedMem'>[];
  },
): ParentChoice {
  const full = unchainableBecause(a);
  if (full) return { track: false, fullBecause: full };
  const prev = a.local.find(
    (r) =>
      r.id === a.lastTracked?.by &&
      r.trackedMem &&
      a.incarnation !== undefined &&
      r.incarnation === a.incarnation &&
      a.lastTracked?.incarnation === a.incarnation,
  );
  if (prev) return { parent: prev.id, track: true };
  return {
    track: true,
    fullBecause: a.lastTracked
      ? 'the workload was dumped (a pre-copy round, a failed attempt) or restarted since its last snapshot here'
      : 'the first snapshot of this run of the workload on this host',
  };
}

/** What a host has on disk, one line per snapshot folder. */
export interface SnapshotOnDisk {
  id: string;
  /** From its snapshot.json; undefined when that is missing or unreadable. */
  checksum?: string;
  sizeBytes: number;
}

export interface CatalogCheck {
  /** On a host's disk but not in the catalog (or not as a copy on that host). */
  orphansOnDisk: { host: string; id: string; sizeBytes: number }[];
  /** In the catalog as a copy on a host that does not have it. */
  missingOnDisk: { host: string; id: string }[];
  /** On disk with a record whose checksum is not the catalog's. */
  mismatched: { host: string; id: string }[];
  /** Hosts that could not be asked (their worker is down). */
  unreachable: string[];
  consistent: boolean;
}

/** Compares the catalog with what each reachable host holds. */
export function compareCatalog(
  records: readonly SnapshotRecord[],
  disks: Readonly<Record<string, readonly SnapshotOnDisk[] | undefined>>,
): CatalogCheck {
  const check: CatalogCheck = {
    orphansOnDisk: [],
    missingOnDisk: [],
    mismatched: [],
    unreachable: [],
    consistent: true,
  };
  for (const [host, disk] of Object.entries(disks)) {
    if (!disk) {
      check.unreachable.push(host);
      continue;
    }
    for (const d of disk) {
      const r = records.find((x) => x.id === d.id);
      if (!r || !r.copies.includes(host))
        check.orphansOnDisk.push({ host, id: d.id, sizeBytes: d.sizeBytes });
      else if (d.checksum !== r.checksum) check.mismatched.push({ host, id: d.id });
    }
    for (const r of records)
      if (r.copies.includes(host) && !disk.some((d) => d.id === r.id))
        check.missingOnDisk.push({ host, id: r.id });
  }
  check.consistent = !check.orphansOnDisk.length && !check.missingOnDisk.length && !check.mismatched.length;
  return check;
}

/** Applies one change to the catalog's list (pure: the catalog workflow and its tests use it). */
export function withCopy(records: SnapshotRecord[], change: SnapshotCopyChange): SnapshotRecord[] {
  return records
    .map((r) =>
      r.id !== change.id
        ? r
        : {
            ...r,
            copies: change.present
              ? [...new Set([...r.copies, change.host])]
              : r.copies.filter((h) => h !== change.host),
          },
    )
    .filter((r) => r.copies.length > 0);
}

/** "15m", "2h", "7d", "30s" → milliseconds; undefined when it is not such a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : undefined;
}
