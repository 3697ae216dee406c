// The migrate workflow's behaviour as a table: mode × failing step → outcome, cause, rollback
// story, the exact steps each host saw, where the workload runs afterwards and what is left.
// Real workflow code on a real (local) Temporal server; the hosts are fakes (fake-host.ts).
// Each row gets its own pair of hosts (node-a-ID source, node-b-ID destination), so rows run
// concurrently and a host that goes down in one row is no other row's host.
import { ErrorType } from '../../src/domain/errors.js';
import type { MigrateRequest, MigrationProgress, Outcome, Phase } from '../../src/domain/types.js';
import type { cleanupLeftovers } from '../../src/workflows/cleanup-leftovers.js';
import { resolveSignal } from '../../src/workflows/definitions.js';
import { SA } from '../../src/workflows/search-attributes.js';
import { dumpedThenFailed, fail, hang, hold, ok, type Effect } from './fake-host.js';
import { gate, runMigration, sleep, type Finished, type Hosts, type Migration } from './harness.js';
import { startWorkflowTestEnv, type WorkflowTestEnv } from './temporal-env.js';

let t: WorkflowTestEnv;
beforeAll(async () => {
  t = await startWorkflowTestEnv();
}, 120_000);
afterAll(async () => {
  await t?.teardown();
});

interface Row {
  /** Short, unique: names the hosts and the workflow. */
  id: string;
  name: string;
  request: Partial<MigrateRequest>;
  arrange?: (h: Hosts) => void;
  act?: (m: Migration) => Promise<void>;
  outcome: Outcome;
  /** result.cause.type; none when undefined. */
  cause?: string;
  /** Substrings of result.rollback, in this order ({src} {dst} {what} {id} filled in); none when undefined. */
  rollback?: string[];
  /** Exact activities on each host in order; `name×n` is n attempts in a row. */
  source: string[];
  destination: string[];
  phases: Phase[];
  /** Where the workload runs at the end (never on both). */
  runsOn: 'source' | 'destination' | 'nowhere';
  /** Hosts where the migration's folder (or the destination's copy of the files) remains. */
  kept?: { source?: boolean; destination?: boolean };
  /** [earlier, later] as `source.activity` / `destination.activity`: first calls, across hosts. */
  order?: [string, string][];
  check?: (r: Finished) => void | Promise<void>;
}

const SC = { mode: 'stop-and-copy' } as const;
const STREAMED = { mode: 'streamed' } as const;
const POSTCOPY = { mode: 'postcopy', acceptPostcopyRisk: true } as const;
const PRECOPY = { mode: 'precopy' } as const;

const PREFLIGHT_FAILED = {
  source: ['preflightSource'],
  destination: ['preflightDestination', 'removeMigrationFiles'],
  phases: ['preflight'] as Phase[],
  runsOn: 'source' as const,
};
const SC_OK = {
  source: ['preflightSource', 'presync', 'checkpoint', 'transfer', 'cleanupMigration'],
  destination: ['preflightDestination', 'restore', 'verify', 'cleanupMigration'],
  phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'verify', 'cleanup'] as Phase[],
  runsOn: 'destination' as const,
};
/** The source back from its own checkpoint: the end of every rollback that works. */
const SOURCE_RESTORED = ['restore', 'verify', 'removeMigrationFiles'];
const RESTORED_NOTES = [
  'restoring {what} on {src} from its local checkpoint',
  '{what} runs again on {src} from its checkpoint',
];
const FENCED_NOTES = [
  'removing any copy of {what} on {dst}',
  'waiting for {dst} to confirm that no copy of {what} runs there before restarting it on {src}',
  'ferry resolve migrate-{row} --destination-is-down',
];
const MANUAL_RESTORE = [
  'The images are kept in STATE/migrations/{id}/images on {src}',
  'runc --root RUNC-ROOT restore -d --image-path STATE/migrations/{id}/images -b BUNDLE web',
  'See docs/failure-handling.md',
];
/** Streamed: the dump completed (its pages went to the destination), then the step failed. */
const streamedThenFailed: Effect = (h, input) => {
  dumpedThenFailed(h, input);
  h.pagesElsewhere = true;
};
/** CRIU on the source resumed the frozen workload when the page transfer broke. */
const sourceResumed: Effect = (h) => {
  h.running = true;
  h.lazyDump = undefined;
};

const rows: Row[] = [
  // ---- stop-and-copy -------------------------------------------------------------------------
  (() => {
    const presync = gate();
    let during: MigrationProgress | undefined;
    return {
      id: 'sc-ok',
      name: 'stop-and-copy: success',
      request: SC,
      arrange: ({ src }) => src.on('presync', hold(presync.promise)),
      act: async (m) => {
        await m.src.called('presync');
        during = await m.progress();
        presync.open();
      },
      outcome: 'migrated',
      ...SC_OK,
      check: async (r) => {
        // The progress query answers while the workflow runs.
        expect(during).toMatchObject({
          phase: 'presync',
          workload: 'web',
          runtime: 'runc',
          bytesTransferred: 0,
        });
        expect(during?.phases.map((p) => p.phase)).toEqual(['preflight', 'presync']);
        expect(during?.rollback).toBeUndefined();
        expect(await r.progress()).toMatchObject({ phase: 'done', bytesTransferred: 6 * 2 ** 20 });
        // Phases in order, each timed.
        const starts = r.result.phases.map((p) => p.startedAtMs);
        expect(starts).toEqual([...starts].sort((a, b) => a - b));
        expect(r.result.phases.every((p) => p.durationMs >= 0)).toBe(true);
        expect(r.result).toMatchObject({
          mode: 'stop-and-copy',
          modeReason: 'requested',
          bytesTransferred: 6 * 2 ** 20,
          imageBytes: 70 * 2 ** 20,
          criuVersions: { source: '4.2.1', destination: '4.2.1' },
        });
        expect(r.result.migrationId).toMatch(/^migrate-sc-ok-[0-9a-f]{8}$/);
        expect(r.result.downtimeMs).toBeGreaterThanOrEqual(0);
        expect(r.src.callsOf('checkpoint')[0]?.input).not.toHaveProperty('pageServer', expect.anything());
        expect(r.dst.callsOf('verify')[0]?.input).toMatchObject({ windowMs: 0 });
        expect(r.src.callsOf('cleanupMigration')[0]?.input).toMatchObject({
          removeWorkloadFiles: true,
          keepImages: false,
        });
        expect(r.dst.callsOf('cleanupMigration')[0]?.input).toMatchObject({
          removeWorkloadFiles: false,
          keepImages: false,
        });
      },
    } satisfies Row;
  })(),
  {
    id: 'sc-src-pre',
    name: 'stop-and-copy: source preflight refused',
    request: SC,
    arrange: ({ src, dst }) =>
      src.on(
        'preflightSource',
        fail(ErrorType.WorkloadNotFound, { after: dst.finished('preflightDestination') }),
      ),
    // A preflight that says no for good: nothing started on the workload (CLI exit 2).
    outcome: 'refused',
    cause: ErrorType.WorkloadNotFound,
    ...PREFLIGHT_FAILED,
  },
  {
    id: 'sc-dst-pre',
    name: 'stop-and-copy: destination preflight refused',
    request: SC,
    arrange: ({ dst }) => dst.on('preflightDestination', fail(ErrorType.CriuUnavailable)),
    // A preflight that says no for good: nothing started on the workload (CLI exit 2).
    outcome: 'refused',
    cause: ErrorType.CriuUnavailable,
    ...PREFLIGHT_FAILED,
  },
  {
    id: 'sc-space',
    name: 'stop-and-copy: destination has no room for the images',
    request: SC,
    arrange: ({ dst }) => {
      dst.freeBytes = 10 * 2 ** 20;
    },
    // A preflight that says no for good: nothing started on the workload (CLI exit 2).
    outcome: 'refused',
    cause: ErrorType.InsufficientSpace,
    ...PREFLIGHT_FAILED,
  },
  {
    id: 'sc-cgroups',
    name: 'stop-and-copy: source on cgroup v1, destination on cgroup v2 (runc)',
    request: SC,
    arrange: ({ dst }) => {
      dst.cgroupLayout = 'v2';
    },
    // A preflight that says no for good: nothing started on the workload (CLI exit 2).
    outcome: 'refused',
    cause: ErrorType.CgroupLayoutMismatch,
    ...PREFLIGHT_FAILED,
    check: (r) => {
      expect(r.result.cause?.message).toContain('has cgroup v1 and');
      expect(r.result.cause?.message).toContain('has cgroup v2');
    },
  },
  {
    id: 'pre-unavail',
    name: 'precopy forced, source kernel without dirty tracking',
    request: PRECOPY,
    // A preflight that says no for good: nothing started on the workload (CLI exit 2).
    outcome: 'refused',
    cause: ErrorType.ModeUnavailable,
    ...PREFLIGHT_FAILED,
  },
  {
    id: 'sc-ckpt-runs',
    name: 'stop-and-copy: checkpoint fails, the workload still runs',
    request: SC,
    arrange: ({ src }) => src.on('checkpoint', fail(ErrorType.CheckpointFailed)),
    outcome: 'failed-before-freeze',
    cause: ErrorType.CheckpointFailed,
    source: ['preflightSource', 'presync', 'checkpoint×5', 'preflightSource', 'removeMigrationFiles'],
    destination: ['preflightDestination', 'removeMigrationFiles', 'removeWorkload'],
    phases: ['preflight', 'presync', 'checkpoint'],
    runsOn: 'source',
  },
  {
    id: 'sc-ckpt-stopped',
    name: 'stop-and-copy: checkpoint fails after the dump stopped the workload',
    request: SC,
    arrange: ({ src }) =>
      src.on('checkpoint', fail(ErrorType.CheckpointFailed, { effect: dumpedThenFailed })),
    outcome: 'rolled-back',
    cause: ErrorType.CheckpointFailed,
    rollback: RESTORED_NOTES,
    source: ['preflightSource', 'presync', 'checkpoint×5', 'preflightSource', ...SOURCE_RESTORED],
    destination: ['preflightDestination', 'removeMigrationFiles', 'removeWorkload'],
    phases: ['preflight', 'presync', 'checkpoint', 'rollback'],
    runsOn: 'source',
  },
  {
    id: 'sc-transfer',
    name: 'stop-and-copy: transfer fails',
    request: SC,
    arrange: ({ src }) => src.on('transfer', fail(ErrorType.TransferFailed)),
    outcome: 'rolled-back',
    cause: ErrorType.TransferFailed,
    rollback: ['removing any copy of {what} on {dst}', ...RESTORED_NOTES],
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer×5', ...SOURCE_RESTORED],
    destination: ['preflightDestination', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'rollback'],
    runsOn: 'source',
    order: [['destination.removeWorkload', 'source.restore']],
    check: (r) => {
      expect(r.src.callsOf('transfer').map((c) => c.attempt)).toEqual([1, 2, 3, 4, 5]);
      expect(r.result.rollback).not.toContain('waiting for');
    },
  },
  {
    id: 'sc-transfer-once',
    name: 'stop-and-copy: transfer fails once, its retry works',
    request: SC,
    arrange: ({ src }) => src.on('transfer', [fail(ErrorType.TransferFailed)]),
    outcome: 'migrated',
    ...SC_OK,
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer×2', 'cleanupMigration'],
  },
  {
    id: 'sc-restore',
    name: 'stop-and-copy: restore fails on every attempt',
    request: SC,
    arrange: ({ dst }) => dst.on('restore', fail(ErrorType.RestoreFailed)),
    outcome: 'rolled-back',
    cause: ErrorType.RestoreFailed,
    rollback: [...FENCED_NOTES, ...RESTORED_NOTES],
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer', ...SOURCE_RESTORED],
    destination: ['preflightDestination', 'restore×3', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'rollback'],
    runsOn: 'source',
    order: [['destination.removeWorkload', 'source.restore']],
    check: (r) => {
      // The 3 attempts are the workflow's own (fencing needs to know about each), not retries.
      expect(r.dst.callsOf('restore').map((c) => c.attempt)).toEqual([1, 1, 1]);
    },
  },
  {
    id: 'sc-verify',
    name: 'stop-and-copy: verify fails',
    request: SC,
    arrange: ({ dst }) => dst.on('verify', fail(ErrorType.VerifyFailed)),
    outcome: 'rolled-back',
    cause: ErrorType.VerifyFailed,
    rollback: [...FENCED_NOTES, ...RESTORED_NOTES],
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer', ...SOURCE_RESTORED],
    destination: ['preflightDestination', 'restore', 'verify', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'verify', 'rollback'],
    runsOn: 'source',
    order: [['destination.removeWorkload', 'source.restore']],
  },
  {
    id: 'sc-both',
    name: 'stop-and-copy: restore fails, then the source restore fails too',
    request: SC,
    arrange: ({ src, dst }) => {
      dst.on('restore', fail(ErrorType.RestoreFailed));
      src.on('restore', fail(ErrorType.RestoreFailed));
    },
    outcome: 'failed-needs-operator',
    cause: ErrorType.RestoreFailed,
    rollback: [
      ...FENCED_NOTES,
      'restoring {what} on {src} from its local checkpoint',
      'restoring the checkpoint on {src} failed (restore failed on {src} (test)); {what} is stopped.',
      ...MANUAL_RESTORE,
    ],
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer', 'restore×5', 'handRestore'],
    destination: ['preflightDestination', 'restore×3', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'rollback'],
    runsOn: 'nowhere',
    kept: { source: true },
    check: (r) => {
      expect(r.result.rollback).not.toContain('FRESH');
    },
  },
  {
    id: 'sc-both-fresh',
    name: 'stop-and-copy: restore fails, the source restore fails too, allowStartFresh',
    request: { ...SC, allowStartFresh: true },
    arrange: ({ src, dst }) => {
      dst.on('restore', fail(ErrorType.RestoreFailed));
      src.on('restore', fail(ErrorType.RestoreFailed));
    },
    outcome: 'restarted-fresh',
    cause: ErrorType.RestoreFailed,
    rollback: [
      ...FENCED_NOTES,
      'restoring {what} on {src} from its local checkpoint',
      'restoring the checkpoint on {src} failed (restore failed on {src} (test)); STARTING {what} FRESH: its in-memory state is LOST',
    ],
    source: [
      'preflightSource',
      'presync',
      'checkpoint',
      'transfer',
      'restore×5',
      'startFresh',
      'verify',
      'removeMigrationFiles',
    ],
    destination: ['preflightDestination', 'restore×3', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'rollback'],
    runsOn: 'source',
    check: (r) => {
      // Loudly: the worker log says so too.
      expect(errorsLoggedBy(r)).toContain('migration of runc/web ended restarted-fresh');
    },
  },
  {
    id: 'sc-cancel-presync',
    name: 'stop-and-copy: cancelled before the freeze (during presync)',
    request: SC,
    arrange: ({ src }) => src.on('presync', hang()),
    act: async (m) => {
      await m.src.called('presync');
      await m.handle.cancel();
    },
    outcome: 'cancelled',
    cause: 'Cancelled',
    // The presync wrote on the source: the migration's folder there goes too.
    source: ['preflightSource', 'presync', 'removeMigrationFiles'],
    destination: ['preflightDestination', 'removeMigrationFiles', 'removeWorkload'],
    phases: ['preflight', 'presync'],
    runsOn: 'source',
  },
  {
    id: 'sc-cancel-dump',
    name: 'stop-and-copy: cancelled during the final dump, before it froze anything',
    request: SC,
    arrange: ({ src }) => src.on('checkpoint', hang()),
    act: async (m) => {
      await m.src.called('checkpoint');
      await m.handle.cancel();
    },
    outcome: 'cancelled',
    cause: 'Cancelled',
    source: ['preflightSource', 'presync', 'checkpoint', 'preflightSource', 'removeMigrationFiles'],
    destination: ['preflightDestination', 'removeMigrationFiles', 'removeWorkload'],
    phases: ['preflight', 'presync', 'checkpoint'],
    runsOn: 'source',
  },
  {
    id: 'sc-cancel-transfer',
    name: 'stop-and-copy: cancelled after the dump (during transfer)',
    request: SC,
    arrange: ({ src }) => src.on('transfer', hang()),
    act: async (m) => {
      await m.src.called('transfer');
      await m.handle.cancel();
    },
    outcome: 'rolled-back',
    cause: 'Cancelled',
    rollback: ['removing any copy of {what} on {dst}', ...RESTORED_NOTES],
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer', ...SOURCE_RESTORED],
    destination: ['preflightDestination', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'rollback'],
    runsOn: 'source',
    order: [['destination.removeWorkload', 'source.restore']],
  },
  {
    id: 'sc-cancel-verify',
    name: 'stop-and-copy: cancelled during the verify window',
    request: SC,
    arrange: ({ dst }) => dst.on('verify', hang()),
    act: async (m) => {
      await m.dst.called('verify');
      await m.handle.cancel();
    },
    outcome: 'rolled-back',
    cause: 'Cancelled',
    rollback: [...FENCED_NOTES, ...RESTORED_NOTES],
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer', ...SOURCE_RESTORED],
    destination: ['preflightDestination', 'restore', 'verify', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'verify', 'rollback'],
    runsOn: 'source',
    order: [['destination.removeWorkload', 'source.restore']],
  },
  // ---- fencing -------------------------------------------------------------------------------
  (() => {
    let waiting: MigrationProgress | undefined;
    let waitingAgain: MigrationProgress | undefined;
    let sourceRestoresWhileWaiting = -1;
    let resolvedAt = 0;
    return {
      id: 'fence-started',
      name: 'fencing: the destination goes down after its restore started; the operator resolves',
      request: SC,
      arrange: ({ dst }) => dst.on('restore', hang()),
      act: async (m) => {
        await m.dst.called('restore');
        await m.dst.stop();
        waiting = await m.waitForProgress((p) => !!p.rollback?.includes('waiting for'), 90_000);
        // It keeps waiting: the source stays stopped until the operator's word.
        await sleep(3_000);
        waitingAgain = await m.progress();
        sourceRestoresWhileWaiting = m.src.callsOf('restore').length + (m.src.running ? 100 : 0);
        resolvedAt = Date.now();
        await m.handle.signal(resolveSignal, { destinationIsDown: true });
      },
      outcome: 'rolled-back',
      cause: ErrorType.HostUnavailable,
      rollback: [
        ...FENCED_NOTES,
        'the operator declared {dst} down; restarting {what} on {src} without its confirmation (any copy there is removed when it is back: workflow cleanup-{id})',
        ...RESTORED_NOTES,
      ],
      source: ['preflightSource', 'presync', 'checkpoint', 'transfer', ...SOURCE_RESTORED],
      // Its second restore attempt found no worker (schedule-to-start timeout).
      destination: ['preflightDestination', 'restore'],
      phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'rollback'],
      runsOn: 'source',
      kept: { destination: true },
      check: async (r) => {
        expect(waiting).toMatchObject({ phase: 'rollback' });
        expect(waitingAgain?.rollback).toBe(waiting?.rollback);
        expect(sourceRestoresWhileWaiting).toBe(0);
        // Nothing more is asked of the host declared down (each step would wait 30 s for a
        // worker there): the source restore starts right after the operator's word.
        expect(r.src.callsOf('restore')[0]!.at - resolvedAt).toBeLessThan(10_000);
        await cleanupChildRemovesLeftovers(r);
      },
    } satisfies Row;
  })(),
  (() => {
    const transfer = gate();
    return {
      id: 'fence-never',
      name: 'fencing: the destination is down before its restore: rollback at once',
      request: SC,
      arrange: ({ src }) => src.on('transfer', hold(transfer.promise)),
      act: async (m) => {
        await m.src.called('transfer');
        await m.dst.stop();
        transfer.open();
      },
      outcome: 'rolled-back',
      cause: ErrorType.HostUnavailable,
      rollback: [
        'removing any copy of {what} on {dst}',
        '{dst} did not answer (no copy can run there: its restore never started); what the migration left there is removed when it is back (workflow cleanup-{id})',
        ...RESTORED_NOTES,
      ],
      source: ['preflightSource', 'presync', 'checkpoint', 'transfer', ...SOURCE_RESTORED],
      destination: ['preflightDestination'],
      phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'rollback'],
      runsOn: 'source',
      kept: { destination: true },
      check: async (r) => {
        expect(r.result.rollback).not.toContain('waiting for');
        // 30 s for the restore to find no worker, 10 s for the removal: no wait for an operator.
        expect(r.seconds).toBeLessThan(60);
        await cleanupChildRemovesLeftovers(r);
      },
    } satisfies Row;
  })(),
  // ---- streamed ------------------------------------------------------------------------------
  {
    id: 'st-ok',
    name: 'streamed: success',
    request: STREAMED,
    outcome: 'migrated',
    ...SC_OK,
    destination: [
      'preflightDestination',
      'startPageServer',
      'stopPageServer',
      'restore',
      'verify',
      'cleanupMigration',
    ],
    order: [
      ['destination.startPageServer', 'source.checkpoint'],
      ['source.checkpoint', 'destination.stopPageServer'],
    ],
    check: (r) => {
      const pageServer = { address: '127.0.0.2', port: 27_000 };
      expect(r.result).toMatchObject({ mode: 'streamed', pageServer });
      expect(r.src.callsOf('checkpoint')[0]?.input).toMatchObject({ pageServer });
      expect(r.src.callsOf('transfer')[0]?.input).toMatchObject({
        pagesStreamed: true,
        destination: r.dst.name,
      });
    },
  },
  {
    id: 'st-transfer',
    name: 'streamed: transfer fails: the pages come back, then the source is restored',
    request: STREAMED,
    arrange: ({ src }) => src.on('transfer', fail(ErrorType.TransferFailed)),
    outcome: 'rolled-back',
    cause: ErrorType.TransferFailed,
    rollback: [
      'removing any copy of {what} on {dst}',
      'bringing the streamed memory pages of {what} back from {dst}',
      ...RESTORED_NOTES,
    ],
    source: ['preflightSource', 'presync', 'checkpoint', 'transfer×5', ...SOURCE_RESTORED],
    destination: [
      'preflightDestination',
      'startPageServer',
      'stopPageServer',
      'removeWorkload',
      'returnImages',
      'removeMigrationFiles',
    ],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'rollback'],
    runsOn: 'source',
    order: [
      ['destination.removeWorkload', 'destination.returnImages'],
      ['destination.returnImages', 'source.restore'],
    ],
    check: (r) => {
      expect(r.dst.callsOf('returnImages')[0]?.input).toMatchObject({ destination: r.src.name });
    },
  },
  {
    id: 'st-ckpt-stopped',
    name: 'streamed: checkpoint fails after the dump streamed the pages and stopped the workload',
    request: STREAMED,
    arrange: ({ src }) =>
      src.on('checkpoint', fail(ErrorType.CheckpointFailed, { effect: streamedThenFailed })),
    outcome: 'rolled-back',
    cause: ErrorType.CheckpointFailed,
    rollback: ['bringing the streamed memory pages of {what} back from {dst}', ...RESTORED_NOTES],
    source: ['preflightSource', 'presync', 'checkpoint×5', 'preflightSource', ...SOURCE_RESTORED],
    // The page server never outlives the checkpoint step; the pages come back before the
    // destination's folder goes.
    destination: [
      'preflightDestination',
      'startPageServer',
      'stopPageServer',
      'returnImages',
      'removeMigrationFiles',
      'removeWorkload',
    ],
    phases: ['preflight', 'presync', 'checkpoint', 'rollback'],
    runsOn: 'source',
    order: [['destination.returnImages', 'source.restore']],
  },
  (() => {
    const transfer = gate();
    return {
      id: 'st-dst-down',
      name: 'streamed: the destination is down before its restore: its pages cannot come back',
      request: STREAMED,
      arrange: ({ src }) => src.on('transfer', hold(transfer.promise)),
      act: async (m) => {
        await m.src.called('transfer');
        await m.dst.stop();
        transfer.open();
      },
      // docs/migration-modes.md: "If the destination is unreachable the pages cannot come
      // back: the outcome is failed-needs-operator and the images on both hosts are needed".
      // The source is not restored without its memory, and no cleanup child deletes the pages.
      outcome: 'failed-needs-operator',
      cause: ErrorType.HostUnavailable,
      rollback: [
        'removing any copy of {what} on {dst}',
        'the streamed memory pages of {what} are on {dst}, which did not answer',
        'they are kept there.',
        MANUAL_RESTORE[0]!,
        'first copy STATE/migrations/{id}/images/pagemap-*.img and pages-*.img from {dst}',
        MANUAL_RESTORE[1]!,
        MANUAL_RESTORE[2]!,
      ],
      source: ['preflightSource', 'presync', 'checkpoint', 'transfer'],
      destination: ['preflightDestination', 'startPageServer', 'stopPageServer'],
      phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'rollback'],
      runsOn: 'nowhere',
      kept: { source: true, destination: true },
      check: (r) => {
        expect(r.result.rollback).not.toContain('bringing the streamed memory pages');
      },
    } satisfies Row;
  })(),
  // ---- post-copy -----------------------------------------------------------------------------
  {
    id: 'pc-ok',
    name: 'post-copy: success',
    request: POSTCOPY,
    outcome: 'migrated',
    source: ['preflightSource', 'presync', 'startLazyDump', 'transfer', 'awaitLazyDump', 'cleanupMigration'],
    destination: ['preflightDestination', 'restore', 'verify', 'cleanupMigration'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'postcopy', 'verify', 'cleanup'],
    runsOn: 'destination',
    order: [['destination.restore', 'source.awaitLazyDump']],
    check: (r) => {
      const lazyServer = { address: '127.0.0.1', port: 27_001 };
      expect(r.result).toMatchObject({ mode: 'postcopy', pageServer: lazyServer, postcopyMs: 30 });
      expect(r.dst.callsOf('restore')[0]?.input).toMatchObject({ lazyPagesFrom: lazyServer });
    },
  },
  {
    id: 'pc-lazy-dump',
    name: 'post-copy: the lazy dump fails',
    request: POSTCOPY,
    arrange: ({ src }) => src.on('startLazyDump', fail(ErrorType.CheckpointFailed)),
    outcome: 'failed-before-freeze',
    cause: ErrorType.CheckpointFailed,
    source: ['preflightSource', 'presync', 'startLazyDump×5', 'abortLazyDump', 'removeMigrationFiles'],
    destination: ['preflightDestination', 'removeMigrationFiles', 'removeWorkload'],
    phases: ['preflight', 'presync', 'checkpoint'],
    runsOn: 'source',
  },
  {
    id: 'pc-transfer',
    name: 'post-copy: transfer fails',
    request: POSTCOPY,
    arrange: ({ src }) => src.on('transfer', fail(ErrorType.TransferFailed)),
    outcome: 'rolled-back',
    cause: ErrorType.TransferFailed,
    rollback: [
      'removing any copy of {what} on {dst}',
      'the page transfer ended before {src} was released: {what} runs there again',
    ],
    source: [
      'preflightSource',
      'presync',
      'startLazyDump',
      'transfer×5',
      'abortLazyDump',
      'removeMigrationFiles',
    ],
    destination: ['preflightDestination', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'rollback'],
    runsOn: 'source',
  },
  {
    id: 'pc-restore',
    name: 'post-copy: the lazy restore fails before the workload ran there',
    request: POSTCOPY,
    arrange: ({ dst }) => dst.on('restore', fail(ErrorType.RestoreFailed)),
    outcome: 'rolled-back',
    cause: ErrorType.RestoreFailed,
    rollback: [
      'removing any copy of {what} on {dst}',
      'the page transfer ended before {src} was released: {what} runs there again',
    ],
    // One attempt only: a lazy restore that reached the source cannot be repeated.
    source: [
      'preflightSource',
      'presync',
      'startLazyDump',
      'transfer',
      'abortLazyDump',
      'removeMigrationFiles',
    ],
    destination: ['preflightDestination', 'restore', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'rollback'],
    runsOn: 'source',
    order: [['destination.removeWorkload', 'source.abortLazyDump']],
  },
  {
    id: 'pc-pages-break',
    name: 'post-copy: the page transfer breaks, CRIU resumes the source',
    request: POSTCOPY,
    arrange: ({ src }) => src.on('awaitLazyDump', fail(ErrorType.PostcopyFailed, { effect: sourceResumed })),
    outcome: 'rolled-back',
    cause: ErrorType.PostcopyFailed,
    rollback: [
      'removing any copy of {what} on {dst}',
      'the page transfer ended before {src} was released: {what} runs there again',
    ],
    source: [
      'preflightSource',
      'presync',
      'startLazyDump',
      'transfer',
      'awaitLazyDump',
      'abortLazyDump',
      'removeMigrationFiles',
    ],
    destination: ['preflightDestination', 'restore', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'postcopy', 'rollback'],
    runsOn: 'source',
  },
  {
    id: 'pc-lost',
    name: 'post-copy: verify fails after the source was released',
    request: POSTCOPY,
    arrange: ({ dst }) => dst.on('verify', fail(ErrorType.VerifyFailed)),
    outcome: 'failed-postcopy-lost',
    cause: ErrorType.VerifyFailed,
    rollback: [
      'removing any copy of {what} on {dst}',
      'post-copy failed after {dst} had started {what}: its memory was split between the hosts and it is LOST on both (the request accepted this risk)',
    ],
    source: [
      'preflightSource',
      'presync',
      'startLazyDump',
      'transfer',
      'awaitLazyDump',
      'abortLazyDump',
      'removeMigrationFiles',
    ],
    destination: ['preflightDestination', 'restore', 'verify', 'removeWorkload', 'removeMigrationFiles'],
    phases: ['preflight', 'presync', 'checkpoint', 'transfer', 'restore', 'postcopy', 'verify', 'rollback'],
    runsOn: 'nowhere',
    check: (r) => {
      expect(errorsLoggedBy(r)).toContain('migration of runc/web ended failed-postcopy-lost');
    },
  },
  // ---- pre-copy ------------------------------------------------------------------------------
  {
    id: 'pre-ok',
    name: 'precopy: rounds, then the final dump with the last round as parent',
    request: PRECOPY,
    arrange: ({ src }) => {
      src.dirtyTracking = true;
    },
    outcome: 'migrated',
    ...SC_OK,
    source: [
      'preflightSource',
      'presync',
      'preDump',
      'shipPrecopyRounds',
      'preDump',
      'shipPrecopyRounds',
      'preDump',
      'shipPrecopyRounds',
      'checkpoint',
      'transfer',
      'cleanupMigration',
    ],
    phases: ['preflight', 'presync', 'precopy', 'checkpoint', 'transfer', 'restore', 'verify', 'cleanup'],
    check: (r) => {
      expect(r.src.callsOf('preDump').map((c) => c.input.round)).toEqual([1, 2, 3]);
      expect(r.src.callsOf('checkpoint')[0]?.input.parentRound).toBe(3);
      expect(r.result.precopy).toMatchObject({ stopReason: 'few-pages', finalParentRound: 3 });
      expect(r.result.precopy?.rounds.map((x) => x.pagesWritten)).toEqual([10_000, 2_000, 100]);
      // presync, three rounds, transfer: 3 MiB each.
      expect(r.result.bytesTransferred).toBe(15 * 2 ** 20);
    },
  },
  {
    id: 'pre-round-fails',
    name: 'precopy: round 2 fails: rounds end, the final dump is a full one',
    request: PRECOPY,
    arrange: ({ src }) => {
      src.dirtyTracking = true;
      src.on('preDump', [ok, fail(ErrorType.CheckpointFailed)]);
    },
    outcome: 'migrated',
    ...SC_OK,
    source: [
      'preflightSource',
      'presync',
      'preDump',
      'shipPrecopyRounds',
      'preDump',
      'checkpoint',
      'transfer',
      'cleanupMigration',
    ],
    phases: ['preflight', 'presync', 'precopy', 'checkpoint', 'transfer', 'restore', 'verify', 'cleanup'],
    check: (r) => {
      // One attempt per round: a retried round could miss pages.
      expect(r.src.callsOf('preDump').map((c) => c.attempt)).toEqual([1, 1]);
      expect(r.src.callsOf('checkpoint')[0]?.input.parentRound).toBeUndefined();
      expect(r.result.precopy?.failed).toMatch(/^round 2: CheckpointFailed: /);
    },
  },
];

const fill = (s: string, r: Finished, row: Row) =>
  s
    .replaceAll('{src}', r.src.name)
    .replaceAll('{dst}', r.dst.name)
    .replaceAll('{what}', 'runc/web')
    .replaceAll('{id}', r.result.migrationId)
    .replaceAll('{row}', row.id);

/** Each row's finished migration, for tests that look further at one (known bugs). */
const finished = new Map(
  rows.map((row) => {
    let settle!: { resolve: (r: Finished) => void; reject: (err: unknown) => void };
    const promise = new Promise<Finished>((resolve, reject) => (settle = { resolve, reject }));
    promise.catch(() => undefined); // its row reports the failure
    return [row.id, { promise, ...settle }] as const;
  }),
);
const finishedRow = (id: string) => finished.get(id)!.promise;

describe('migrate: mode × failing step → outcome', () => {
  test.concurrent.each(rows.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    const r = await runMigration(t, {
      id: row.id,
      request: row.request,
      arrange: row.arrange,
      act: row.act,
    }).then(
      (r) => (finished.get(row.id)!.resolve(r), r),
      (err: unknown) => {
        finished.get(row.id)!.reject(err);
        throw err;
      },
    );
    const { result } = r;

    expect(result.outcome).toBe(row.outcome);
    expect(result.cause?.type).toBe(row.cause);
    if (row.rollback) {
      // Each note in the story, in this order.
      let rest = result.rollback ?? '';
      for (const note of row.rollback.map((n) => fill(n, r, row))) {
        expect(rest).toContain(note);
        rest = rest.slice(rest.indexOf(note) + note.length);
      }
    } else expect(result.rollback).toBeUndefined();

    expect({ source: r.src.sequence(), destination: r.dst.sequence() }).toEqual({
      source: row.source,
      destination: row.destination,
    });
    // The result's freeze count comes from the source's record, read once the outcome is known.
    // Read exactly when a step that can freeze ran there.
    const couldFreeze = r.src.calls.some((c) => ['checkpoint', 'preDump', 'startLazyDump'].includes(c.name));
    expect(r.src.callsOf('migrationRecord').length).toBe(couldFreeze ? 1 : 0);
    expect(result.phases.map((p) => p.phase)).toEqual(row.phases);

    // Never two copies; where it runs, its files are.
    expect({ source: r.src.running, destination: r.dst.running }).toEqual({
      source: row.runsOn === 'source',
      destination: row.runsOn === 'destination',
    });
    expect(r.src.files).toBe(row.runsOn !== 'destination');
    if (!row.kept?.destination) expect(r.dst.files).toBe(row.runsOn === 'destination');
    expect({ source: r.src.folders.size > 0, destination: r.dst.folders.size > 0 }).toEqual({
      source: !!row.kept?.source,
      destination: !!row.kept?.destination,
    });

    for (const [earlier, later] of row.order ?? []) {
      const at = (s: string) =>
        r.src.journal.indexOf(
          s.replace('source.', `${r.src.name}.`).replace('destination.', `${r.dst.name}.`),
        );
      expect(at(earlier)).toBeGreaterThanOrEqual(0);
      expect(at(later)).toBeGreaterThan(at(earlier));
    }

    const described = await r.handle.describe();
    expect(described.typedSearchAttributes.get(SA.outcome)).toBe(row.outcome);
    expect(described.typedSearchAttributes.get(SA.phase)).toBe(
      row.outcome === 'migrated' ? 'done' : 'failed',
    );

    await row.check?.(r);
  });

  // docs/failure-handling.md: a refusal removes what the migration put on the destination. The
  // workflow waits for both preflights before it cleans up: a destination preflight still
  // running when the source's refused would otherwise create the folder after the cleanup.
  test.concurrent(
    'stop-and-copy: source preflight refused while the destination preflight still runs: nothing left there',
    async () => {
      const preflight = gate();
      let finishedBeforeTheDestination = false;
      const r = await runMigration(t, {
        id: 'sc-src-pre-race',
        request: SC,
        arrange: ({ src, dst }) => {
          src.on('preflightSource', fail(ErrorType.WorkloadNotFound));
          dst.on('preflightDestination', hold(preflight.promise));
        },
        act: async (m) => {
          await m.src.finished('preflightSource');
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          finishedBeforeTheDestination = m.dst.callsOf('removeMigrationFiles').length > 0;
          preflight.open();
          await m.handle.result();
        },
      });
      expect(finishedBeforeTheDestination).toBe(false);
      expect(r.result.outcome).toBe('refused');
      expect(r.result.cause?.type).toBe(ErrorType.WorkloadNotFound);
      expect(r.dst.sequence()).toEqual(['preflightDestination', 'removeMigrationFiles']);
      expect(r.dst.folders).toEqual(new Set());
    },
  );

  // docs/migration-modes.md, streamed rollback: "If the destination is unreachable the pages
  // cannot come back: the outcome is failed-needs-operator and the images on both hosts are
  // needed to restore by hand." No cleanup child deletes them once the host is back.
  test.concurrent(
    'streamed, destination down: its pages are kept for the hand restore, also once it is back',
    async () => {
      const r = await finishedRow('st-dst-down');
      expect(r.dst.folders).toEqual(new Set([r.result.migrationId]));
      await r.dst.start(t.env.nativeConnection);
      try {
        const child = t.env.client.workflow.getHandle(`cleanup-${r.result.migrationId}`);
        // Whatever the destination runs once it is back (if anything) has ended.
        await within(
          10_000,
          child.result().catch(() => undefined),
        );
        await r.dst.settled();
      } finally {
        await r.dst.stop();
      }
      expect(r.dst.folders).toEqual(new Set([r.result.migrationId]));
    },
  );
});

/**
 * The migration started `cleanup-<migration id>` (abandoned) for the host that was down; once
 * that host's worker is back it removes what the migration left there.
 */
async function cleanupChildRemovesLeftovers(r: Finished): Promise<void> {
  const child = t.env.client.workflow.getHandle<typeof cleanupLeftovers>(`cleanup-${r.result.migrationId}`);
  expect((await child.describe()).status.name).toBe('RUNNING');
  expect(r.dst.folders.size + (r.dst.files ? 1 : 0)).toBeGreaterThan(0);
  await r.dst.start(t.env.nativeConnection);
  try {
    expect(await child.result()).toEqual({ removedWorkload: true });
  } finally {
    await r.dst.stop();
  }
  expect({ folders: r.dst.folders.size, files: r.dst.files, running: r.dst.running }).toEqual({
    folders: 0,
    files: false,
    running: false,
  });
  expect(r.dst.callsOf('removeLeftovers')[0]?.input).toEqual({
    workload: 'web',
    runtime: 'runc',
    migrationId: r.result.migrationId,
  });
}

/** Waits for `p`, or gives up after ms (without leaving a timer behind). */
async function within(ms: number, p: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function errorsLoggedBy(r: Finished): string[] {
  return t.logs
    .filter(
      (e) =>
        e.level === 'ERROR' &&
        (e.meta as { workflowId?: string } | undefined)?.workflowId === r.handle.workflowId,
    )
    .map((e) => e.message);
}
