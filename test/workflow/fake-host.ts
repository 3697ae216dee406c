// A fake ferry host for workflow tests: a worker on the host's own task queue whose activities
// have the names, inputs and results of the real ones (HostActivities) but touch nothing. It
// keeps the few facts the workflow's branches depend on (does the workload run here, are its
// files and the migration's folder here), records every call, and can be told per activity to
// fail, hang until cancelled, or hold until the test releases it.
import type { snapshotActivities } from '../../src/activities/snapshots.js';
import type { hibernationActivities } from '../../src/activities/hibernation.js';
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { HostActivities } from '../../src/activities/index.js';
import { ErrorType, NON_RETRYABLE_ERROR_TYPES, type ErrorTypeName } from '../../src/domain/errors.js';
import { hostTaskQueue } from '../../src/domain/names.js';
import type { HostFacts, WorkloadInfo } from '../../src/domain/types.js';
import type { CgroupLayout } from '../../src/domain/cgroup-layout.js';

export type ActivityName = keyof HostActivities;
type Input<K extends ActivityName> = Parameters<HostActivities[K]>[0];

export interface Call<K extends ActivityName = ActivityName> {
  name: K;
  input: Input<K>;
  /** Temporal's attempt number (retries made by the server's retry policy). */
  attempt: number;
  /** When it started (epoch ms). */
  at: number;
}

/** What one call of an activity does. */
export type Step =
  /** What the healthy host does. */
  | { kind: 'ok' }
  /** Throws an ApplicationFailure of a ferry type, retryable as the type says unless overridden. */
  | {
      kind: 'fail';
      type: ErrorTypeName;
      nonRetryable?: boolean;
      message?: string;
      effect?: Effect;
      /** Fails only once this settles (heartbeating meanwhile). */
      after?: Promise<unknown>;
    }
  /** Heartbeats until cancelled (by the workflow, or by its worker's shutdown), then confirms. */
  | { kind: 'hang'; effect?: Effect }
  /** Heartbeats until the test releases it, then does what the healthy host does. */
  | { kind: 'hold'; until: Promise<unknown> };

/** What happened on the host before a step failed (e.g. the dump did stop the workload). */
export type Effect = (host: FakeHost, input: { migrationId?: string }) => void;

export const ok: Step = { kind: 'ok' };
export const hang = (effect?: Effect): Step => ({ kind: 'hang', effect });
export const hold = (until: Promise<unknown>): Step => ({ kind: 'hold', until });
export const fail = (
  type: ErrorTypeName,
  opts: { nonRetryable?: boolean; message?: string; effect?: Effect; after?: Promise<unknown> } = {},
): Step => ({ kind: 'fail', type, ...opts });

/** The dump completed (the workload no longer runs, its images are here), then the step failed. */
export const dumpedThenFailed: Effect = (h, input) => {
  h.running = false;
  if (input.migrationId) h.folders.add(input.migrationId);
};

const MIB = 1024 * 1024;
const PID = 4242;

type SnapshotStep =
  keyof ReturnType<typeof snapshotActivities> | keyof ReturnType<typeof hibernationActivities>;
const SNAPSHOT_STEPS: readonly SnapshotStep[] = [
  'createSnapshot',
  'verifySnapshot',
  'checkRestoreTarget',
  'stageSnapshot',
  'pushSnapshot',
  'removeSnapshotCopy',
  'snapshotsOnDisk',
  'stopReplaced',
  'pauseWorkload',
  'dropRestoreFolder',
  'hostBoot',
  'checkDurableStore',
];

export class FakeHost {
  /** The migrated workload runs on this host. */
  running: boolean;
  /** Its files (bundle, rootfs changes) are on this host. */
  files: boolean;
  /** Migration ids whose folder (images, logs) exists on this host. */
  readonly folders = new Set<string>();
  /** Streamed mode, on the source: the checkpoint's memory pages are on the destination. */
  pagesElsewhere = false;
  /** Post-copy source: the lazy dump serves pages, or has released the frozen copy. */
  lazyDump?: 'serving' | 'released';
  /** Its kernel tracks dirty pages (pre-copy). */
  dirtyTracking = false;
  /** The cgroup layout it reports (a test gives one host another to see the refusal). */
  cgroupLayout: CgroupLayout = 'v1';
  /** Free space in its state folder. */
  freeBytes = 100 * 1024 * MIB;
  readonly calls: Call[] = [];
  /** Shared by the hosts of one test: `host.activity` in call order across hosts. */
  journal: string[] = [];
  peers = new Map<string, FakeHost>();
  private readonly scripts = new Map<ActivityName, Step | Step[]>();
  private readonly waiters: { name: ActivityName; ended: boolean; resolve: () => void }[] = [];
  private readonly ended: ActivityName[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private worker?: Worker;
  private workerRun?: Promise<void>;

  constructor(
    readonly name: string,
    opts: { running: boolean },
  ) {
    this.running = opts.running;
    this.files = opts.running;
  }

  get taskQueue(): string {
    return hostTaskQueue(this.name);
  }

  /** Per activity: one step for every call, or steps for the first calls (then the default). */
  on(name: ActivityName, steps: Step | Step[]): this {
    this.scripts.set(name, steps);
    return this;
  }

  callsOf<K extends ActivityName>(name: K): Call<K>[] {
    return this.calls.filter((c): c is Call<K> => c.name === name);
  }

  /**
   * Activities called here in order, runs of the same one (its attempts) as `name×n`. The final
   * read of the host's freeze record (`migrationRecord`) is left out: the table asserts it apart.
   */
  sequence(): string[] {
    const out: { name: string; n: number }[] = [];
    for (const c of this.calls) {
      if (c.name === 'migrationRecord') continue;
      const last = out.at(-1);
      if (last?.name === c.name) last.n++;
      else out.push({ name: c.name, n: 1 });
    }
    return out.map((r) => (r.n > 1 ? `${r.name}×${r.n}` : r.name));
  }

  /** Resolves once the activity has been called here (at once if it was). */
  called(name: ActivityName): Promise<void> {
    if (this.calls.some((c) => c.name === name)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ name, ended: false, resolve }));
  }

  /** Resolves once a call of the activity here has ended, however it ended. */
  finished(name: ActivityName): Promise<void> {
    if (this.ended.includes(name)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ name, ended: true, resolve }));
  }

  private wake(name: ActivityName, ended: boolean): void {
    for (const w of this.waiters.filter((w) => w.name === name && w.ended === ended)) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Every activity that started here has ended. */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  async start(connection: NativeConnection): Promise<void> {
    this.worker = await Worker.create({
      connection,
      taskQueue: this.taskQueue,
      activities: this.activities(),
      // As the real host worker: heartbeats (and so cancels) reach the server within 1 s.
      maxHeartbeatThrottleInterval: '1s',
      defaultHeartbeatThrottleInterval: '1s',
      identity: `fake-${this.name}`,
    });
    this.workerRun = this.worker.run();
  }

  /** The host goes down: its worker stops polling; a step running there is cancelled and fails. */
  async stop(): Promise<void> {
    if (!this.worker) return;
    if (this.worker.getState() === 'RUNNING') this.worker.shutdown();
    await this.workerRun;
    this.worker = undefined;
  }

  get up(): boolean {
    return this.worker !== undefined;
  }

  private peer(name: string): FakeHost {
    const peer = this.peers.get(name);
    if (!peer) throw failure(ErrorType.UnknownHost, `host ${name} is not known to ${this.name}`);
    return peer;
  }

  private facts(): HostFacts {
    return {
      host: this.name,
      criuVersion: '4.2.1',
      kernel: '6.18.0-fake',
      freeBytes: this.freeBytes,
      freeMemoryBytes: 8 * 1024 * MIB,
      runtimes: ['runc', 'process'],
      dirtyTracking: this.dirtyTracking,
      cgroupLayout: this.cgroupLayout,
    };
  }

  private info(name: string, runtime: WorkloadInfo['runtime']): WorkloadInfo {
    return { name, runtime, running: this.running, pid: PID, rssBytes: 64 * MIB };
  }

  private notRunning(what: string): ApplicationFailure {
    return failure(ErrorType.WorkloadNotRunning, `${what} is not running on ${this.name}`);
  }

  private sent(): { bytesSent: number; durationMs: number } {
    return { bytesSent: 3 * MIB, durationMs: 5 };
  }

  /** The healthy host: what each activity does when no step says otherwise. */
  private healthy(): HostActivities {
    return {
      hostInfo: async () => ({
        host: this.name,
        ferryVersion: '0.0.0-fake',
        criuVersion: '4.2.1',
        kernel: '6.18.0-fake',
        runtimes: ['runc', 'process'],
        stateDir: `/fake/${this.name}`,
        freeBytes: this.freeBytes,
        workerPid: PID,
      }),
      describeHost: async () => this.facts(),
      listWorkloads: async (input) =>
        this.running && (!input.runtimes || input.runtimes.includes('runc'))
          ? [this.info('web', 'runc')]
          : [],
      preflightSource: async (ref) => {
        if (!this.running) throw this.notRunning(`${ref.runtime}/${ref.workload}`);
        return { facts: this.facts(), workload: this.info(ref.workload, ref.runtime) };
      },
      checkDestinationFit: async () => undefined,
      preflightDestination: async (input) => {
        if (this.running)
          throw failure(
            ErrorType.WorkloadAlreadyOnDestination,
            `a ${input.runtime} workload "${input.workload}" already runs on ${this.name}`,
          );
        this.folders.add(input.migrationId);
        return this.facts();
      },
      presync: async (input) => {
        this.peer(input.destination).files = true;
        return this.sent();
      },
      preDump: async (input) => {
        this.folders.add(input.migrationId);
        // Rounds that shrink: 10000, 2000, then 100 pages, below fewPages (256): 3 rounds.
        const pagesWritten = [10_000, 2_000, 100][input.round - 1] ?? 100;
        return {
          round: input.round,
          pagesWritten,
          pagesSkipped: 16_384 - pagesWritten,
          pagesScanned: 16_384,
          imageBytes: pagesWritten * 4096,
          bytesSent: 0,
          dumpMs: 10,
          shipMs: 0,
        };
      },
      shipPrecopyRounds: async (input) => {
        this.peer(input.destination).folders.add(input.migrationId);
        return this.sent();
      },
      checkpoint: async (input) => {
        if (!this.running) throw this.notRunning(`${input.runtime}/${input.workload}`);
        this.running = false;
        this.folders.add(input.migrationId);
        this.pagesElsewhere = input.pageServer !== undefined;
        return {
          frozenAtMs: Date.now(),
          durationMs: 20,
          imageBytes: 70 * MIB,
          stats: { pagesWritten: 16_384 },
        };
      },
      transfer: async (input) => {
        const to = this.peer(input.destination);
        to.folders.add(input.migrationId);
        to.files = true;
        return this.sent();
      },
      startPageServer: async (input) => {
        this.folders.add(input.migrationId);
        return { address: '127.0.0.2', port: 27_000 };
      },
      stopPageServer: async () => undefined,
      returnImages: async (input) => {
        this.peer(input.destination).pagesElsewhere = false;
        return this.sent();
      },
      startLazyDump: async (input) => {
        this.running = false;
        this.lazyDump = 'serving';
        this.folders.add(input.migrationId);
        return {
          frozenAtMs: Date.now(),
          durationMs: 20,
          imageBytes: MIB,
          stats: {},
          lazyServer: { address: '127.0.0.1', port: 27_001 },
        };
      },
      awaitLazyDump: async () => {
        this.lazyDump = 'released';
        return { servedForMs: 30 };
      },
      abortLazyDump: async () => {
        // Killing CRIU lets the frozen tasks go on; a released copy is gone for good.
        if (this.lazyDump === 'serving') this.running = true;
        this.lazyDump = undefined;
        return { sourceRuns: this.running };
      },
      restore: async (input) => {
        if (this.pagesElsewhere)
          throw failure(
            ErrorType.RestoreFailed,
            `the memory of ${input.migrationId} is missing from its images on ${this.name}`,
          );
        this.running = true;
        return { runningAtMs: Date.now(), durationMs: 15, pid: PID, stats: {}, alreadyRestored: false };
      },
      handRestore: async () => ({}),
      startFresh: async () => {
        this.running = true;
        return { pid: PID + 1 };
      },
      verify: async (input) => {
        if (!this.running)
          throw failure(
            ErrorType.VerifyFailed,
            `${input.runtime}/${input.workload} stopped running on ${this.name}`,
          );
        return { pid: PID, checks: 1 };
      },
      cleanupMigration: async (input) => {
        if (input.removeWorkloadFiles) {
          if (this.running)
            throw new Error(`refusing to remove ${input.runtime}/${input.workload}: it runs on ${this.name}`);
          this.files = false;
        }
        if (!input.keepImages) this.folders.delete(input.migrationId);
      },
      removeWorkload: async () => {
        this.running = false;
        this.files = false;
      },
      removeLeftovers: async (input) => {
        const removedWorkload = this.files;
        this.running = false;
        this.files = false;
        this.folders.delete(input.migrationId);
        return { removedWorkload };
      },
      removeMigrationFiles: async (input) => {
        this.folders.delete(input.migrationId);
      },
      // Images: the fake's runc workload has none, so the workflow never ships one; these
      // answer like a host that has nothing to ship (the e2e tests cover shipping).
      // The fakes freeze nothing CRIU would record: the result counts what the workflow saw.
      migrationRecord: async () => ({
        host: this.name,
        freezes: 0,
        frozenMsTotal: 0,
        attempts: [],
        logs: [],
      }),
      hasImage: async () => false,
      sendImage: async () => ({ archiveBytes: 0, bytesSent: 0, saveMs: 0, shipMs: 0 }),
      loadImage: async () => ({ loadMs: 0 }),
      nameImage: async () => undefined,
      removeShippedImage: async () => ({ removed: true }),
      ...this.snapshotSteps(),
    };
  }

  /** Snapshots and hibernation are not part of the migrate table: any use here is a test error. */
  private snapshotSteps(): Pick<HostActivities, SnapshotStep> {
    const refuse = async (): Promise<never> => {
      throw new Error('snapshot steps are not faked in the migrate tests');
    };
    return Object.fromEntries(SNAPSHOT_STEPS.map((k) => [k, refuse])) as unknown as Pick<
      HostActivities,
      SnapshotStep
    >;
  }

  private activities(): HostActivities {
    const healthy = this.healthy() as unknown as Record<ActivityName, (input: unknown) => Promise<unknown>>;
    const wrapped = {} as Record<ActivityName, (input: unknown) => Promise<unknown>>;
    for (const name of Object.keys(healthy) as ActivityName[]) {
      wrapped[name] = (input: unknown) => {
        const done = this.perform(name, input, healthy[name]).finally(() => {
          this.inFlight.delete(done);
          this.ended.push(name);
          this.wake(name, true);
        });
        this.inFlight.add(done);
        return done;
      };
    }
    return wrapped as unknown as HostActivities;
  }

  private async perform(
    name: ActivityName,
    input: unknown,
    healthy: (input: unknown) => Promise<unknown>,
  ): Promise<unknown> {
    const index = this.callsOf(name).length;
    this.calls.push({ name, input, attempt: Context.current().info.attempt, at: Date.now() } as Call);
    this.journal.push(`${this.name}.${name}`);
    this.wake(name, false);
    const script = this.scripts.get(name);
    const step = (Array.isArray(script) ? script[index] : script) ?? ok;
    switch (step.kind) {
      case 'ok':
        return healthy(input);
      case 'fail':
        if (step.after) await heartbeatUntil(step.after);
        step.effect?.(this, input as { migrationId?: string });
        throw failure(step.type, step.message ?? `${name} failed on ${this.name} (test)`, step.nonRetryable);
      case 'hang':
        try {
          await heartbeatUntil(Context.current().cancelled);
        } finally {
          step.effect?.(this, input as { migrationId?: string });
        }
        throw new CancelledFailure('unreachable: `cancelled` only rejects');
      case 'hold':
        await heartbeatUntil(step.until);
        return healthy(input);
    }
  }
}

function failure(type: ErrorTypeName, message: string, nonRetryable?: boolean): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: nonRetryable ?? NON_RETRYABLE_ERROR_TYPES.includes(type),
  });
}

/** Heartbeats (a cancel is delivered with a heartbeat's answer) until `until` settles. */
async function heartbeatUntil(until: Promise<unknown>): Promise<void> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), 300);
  try {
    await until;
  } finally {
    clearInterval(timer);
  }
}
