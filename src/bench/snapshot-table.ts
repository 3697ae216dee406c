// The snapshot benchmark's figures and its page (docs/bench-snapshots.md). Pure: unit-tested.

/** One restore of the snapshot, by ferry or by hand; times from the moment it was asked for. */
export interface RestoreMeasure {
  /** The workload's first heartbeat after the restore. */
  firstBeatMs: number;
  /** It answered SIGUSR1 with the checksum it recomputed from its memory. */
  answeredMs: number;
  /** ferry: request to result (verify window included); floor: `criu restore -d` to its exit. */
  totalMs: number;
  /** ferry: the restore step (restoreMs); floor: CRIU's own restore time (stats-restore). */
  stepMs?: number;
  /** The recomputed checksum is the one it printed when it became ready. */
  intact: boolean;
}

export interface SnapshotRow {
  mib: number;
  targetSeconds: number;
  /** Spawn to its `ready` line; buildMs: its own figure for building the state. */
  coldMs: number;
  buildMs: number;
  snapshot: { sizeBytes: number; frozenMs?: number; outsideGapMs: number; durationMs: number };
  ferry: RestoreMeasure;
  floor: RestoreMeasure;
  /** The memory images (pages-*.img) read with O_DIRECT. */
  disk: { bytes: number; ms: number };
  /** The original still answered with its checksum after the snapshot (it kept running). */
  originalIntact: boolean;
}

export interface PageFacts {
  runAt: string;
  machine: string;
  versions: string;
  reps: number;
}

/** The run whose answer came in the middle; intact only when all were. */
export function medianRestore(runs: readonly RestoreMeasure[]): RestoreMeasure {
  if (!runs.length) throw new Error('no restore runs');
  const sorted = [...runs].sort((x, y) => x.answeredMs - y.answeredMs);
  return { ...sorted[Math.floor(sorted.length / 2)]!, intact: runs.every((r) => r.intact) };
}

export const ratio = (x: number | undefined, y: number | undefined): string =>
  x !== undefined && y !== undefined && y > 0 ? `${(x / y).toFixed(2)}x` : '-';

const ms = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)} ms`);
const s = (v: number) => `${(v / 1000).toFixed(1)} s`;
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const yes = (ok: boolean) => (ok ? 'yes' : 'NO');
/** MiB per second, from bytes and milliseconds. */
export const throughput = (bytes: number, millis: number) =>
  millis > 0 ? `${Math.round(bytes / 2 ** 20 / (millis / 1000))} MiB/s` : '-';

const CAVEATS = [
  'The `process` runtime, not runc: the dev environment’s runc rootfs is busybox, with no Python in it. A process snapshot comes back with the PIDs it had, so the original is stopped before the restores and every restore runs on the host that took the snapshot (node-a); no copy to another host is timed.',
  'The images were written just before the restores, so CRIU reads them from the page cache: the O_DIRECT read is what the disk would add for a cold cache (e.g. a restore after a reboot), not part of the measured restores.',
  'ferry’s time to an answer includes the catalog lookup, the check of the snapshot’s checksums (sha256 of every file, the images included) before anything is stopped, and the hard-linked layout of the images; its result also waits out the 1 s verify window. The hand-run floor skips all of that.',
  'Cold start is one run per size (its build time is set by the workload); restores are the median of the runs. One machine, 2 cores, shared with other work: single figures move by tens of ms.',
];

export function renderSnapshotPage(rows: readonly SnapshotRow[], f: PageFacts): string {
  return [
    '# Benchmark: restore from a snapshot against a cold start, and the freeze of a snapshot',
    '',
    `Run ${f.runAt} on ${f.machine}. Versions: ${f.versions}.`,
    '',
    'Workload: `src/bench/slow-boot.py` (Debian’s /usr/bin/python3) as a `process` workload: it builds N MiB of state by real computation (PBKDF2-HMAC-SHA256-stretched keys grown into 1 MiB chunks, then sorted by digest) in about the given time, prints `ready <checksum>`, a heartbeat every 50 ms, and on SIGUSR1 recomputes the checksum from the memory it holds and prints it. The bench compares that answer with the `ready` line: the state is verified by the workload, not assumed.',
    `Each size: one cold start on node-a; \`ferry snapshot create\` (left running); the original stopped (a process snapshot comes back with its PIDs); then ${f.reps} restores by ferry and ${f.reps} by hand, alternating, on node-a; each cell the run with the median answer.`,
    'Floor: `criu restore -d` of the same images (hard-linked, as ferry’s restore does), under the same ferry-shim with the same `--inherit-fd` for its stdout pipe, timed directly; CRIU’s own restore time from its stats-restore image; and the memory images read back with O_DIRECT (the disk’s share, for a cold page cache).',
    '',
    '## Time to a ready, verified service',
    '',
    'Cold: spawn to `ready`. Restore: from the request to the workload answering SIGUSR1 with its recomputed checksum (the bench signals it at its first heartbeat after the restore). ferry result: request to the result of `ferry restore` (catalog lookup, checks, the snapshot’s checksums, layout, restore, the 1 s verify window). Ratios: ferry / floor.',
    '',
    '| state | build target | cold start to ready | ferry restore to verified answer | speed-up over cold | floor: criu restore to verified answer | ratio | ferry first heartbeat | floor first heartbeat | ferry result | state intact (original/ferry/floor) |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
    ...rows.map(
      (r) =>
        `| ${r.mib} MiB | ${r.targetSeconds} s | ${s(r.coldMs)} | ${ms(r.ferry.answeredMs)} | ${ratio(r.coldMs, r.ferry.answeredMs)} | ${ms(r.floor.answeredMs)} | ${ratio(r.ferry.answeredMs, r.floor.answeredMs)} | ${ms(r.ferry.firstBeatMs)} | ${ms(r.floor.firstBeatMs)} | ${ms(r.ferry.totalMs)} | ${yes(r.originalIntact)}/${yes(r.ferry.intact)}/${yes(r.floor.intact)} |`,
    ),
    '',
    '## Restore against the physical floor',
    '',
    'ferry restore step: `restoreMs` of the result (the restore activity on the host). Before it: the ferry first heartbeat less that step, about what ferry does before CRIU starts (catalog, checks, checksums of the snapshot, layout). criu restore: `criu restore -d` wall time by hand. CRIU’s own: `restore_time` of its stats-restore image (by hand). Disk: the pages images read with O_DIRECT.',
    '',
    '| state | snapshot size | ferry restore step | ferry before it | criu restore by hand | ratio | CRIU’s own restore time | ratio | pages read (O_DIRECT) | read time | ferry answer / read time |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.mib} MiB | ${mib(r.snapshot.sizeBytes)} | ${ms(r.ferry.stepMs)} | ${ms(r.ferry.stepMs === undefined ? undefined : r.ferry.firstBeatMs - r.ferry.stepMs)} | ${ms(r.floor.totalMs)} | ${ratio(r.ferry.stepMs, r.floor.totalMs)} | ${ms(r.floor.stepMs)} | ${ratio(r.ferry.stepMs, r.floor.stepMs)} | ${mib(r.disk.bytes)} at ${throughput(r.disk.bytes, r.disk.ms)} | ${ms(r.disk.ms)} | ${ratio(r.ferry.answeredMs, r.disk.ms)} |`,
    ),
    '',
    '## Snapshot freeze against size',
    '',
    'frozen: CRIU’s frozen time (the snapshot’s `frozenMs`, the workload left running). Largest heartbeat gap: seen from outside, in the workload’s own output during `snapshot create` (50 ms between beats when it runs). create: request to result (dump, copy of the workload’s files, checksums).',
    '',
    '| state | snapshot size | frozen (CRIU) | per GiB | largest heartbeat gap | create, request to result |',
    '|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.mib} MiB | ${mib(r.snapshot.sizeBytes)} | ${ms(r.snapshot.frozenMs)} | ${r.snapshot.frozenMs === undefined ? '-' : ms((r.snapshot.frozenMs * 2 ** 30) / r.snapshot.sizeBytes)} | ${ms(r.snapshot.outsideGapMs)} | ${ms(r.snapshot.durationMs)} |`,
    ),
    '',
    '## Caveats',
    '',
    ...CAVEATS.map((c) => `- ${c}`),
    '',
  ].join('\n');
}
