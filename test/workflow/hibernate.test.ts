// The hibernateHost workflow on a real (local) Temporal server with the real control activities
// (cordon and catalog entities) and a fake host: what the e2e test cannot stage cheaply. A reboot
// whose worker signal is lost (the wait asks the host itself), a restore that fails (its snapshot
// kept, the retry command given), a cancel while it waits (restored at once), a store that
// would not survive a reboot (refused, nothing stopped).
import { ApplicationFailure } from '@temporalio/common';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { controlActivities } from '../../src/activities/control.js';
import { getCordon } from '../../src/activities/control.js';
import { readCatalog } from '../../src/activities/catalog.js';
import { ErrorType } from '../../src/domain/errors.js';
import {
  HIBERNATE_WORKFLOW,
  HOST_BACK_SIGNAL,
  hibernationWorkflowId,
  type HibernateRequest,
  type HibernationResult,
} from '../../src/domain/hibernation.js';
import { hostTaskQueue, WORKFLOW_TASK_QUEUE, type RuntimeName } from '../../src/domain/names.js';
import type { SnapshotRecord } from '../../src/domain/snapshots.js';
import type { hibernateHost } from '../../src/workflows/hibernate-host.js';
import { hibernationQuery } from '../../src/workflows/hibernate-host.js';
import { startWorkflowTestEnv, type WorkflowTestEnv } from './temporal-env.js';

let t: WorkflowTestEnv;
let control: Worker;
let controlRun: Promise<void>;
beforeAll(async () => {
  t = await startWorkflowTestEnv();
  // The real control activities (cordons, the snapshot catalog) on the shared queue.
  control = await Worker.create({
    connection: t.env.nativeConnection,
    taskQueue: WORKFLOW_TASK_QUEUE,
    activities: controlActivities(t.env.client),
    identity: 'workflow-test-control',
  });
  controlRun = control.run();
}, 120_000);
afterAll(async () => {
  control?.shutdown();
  await controlRun;
  await t?.teardown();
});

const uuid = () => crypto.randomUUID();

/** A host with a few workloads, snapshots kept in memory, a boot id, and a worker that can "reboot". */
class FakeBootHost {
  bootId = uuid();
  readonly running = new Map<string, RuntimeName>();
  readonly stopped = new Map<string, RuntimeName>();
  readonly snapshots = new Set<string>();
  failRestoreOf = new Set<string>();
  volatileStore = false;
  private worker?: Worker;
  private run?: Promise<void>;
  constructor(readonly name: string) {}

  async start(connection: NativeConnection): Promise<void> {
    this.worker = await Worker.create({
      connection,
      taskQueue: hostTaskQueue(this.name),
      activities: this.activities(),
      identity: `fake-${this.name}-${this.bootId.slice(0, 8)}`,
    });
    this.run = this.worker.run();
  }

  async stop(): Promise<void> {
    this.worker?.shutdown();
    await this.run;
  }

  /** What a reboot does: the worker goes, the stopped workloads stay stopped, a new boot id. */
  async reboot(connection: NativeConnection): Promise<void> {
    await this.stop();
    this.running.clear();
    this.bootId = uuid();
    await this.start(connection);
  }

  private activities() {
    const info = (name: string, runtime: RuntimeName) => ({ name, runtime, running: true, labels: {} });
    return {
      checkDurableStore: async () => {
        if (this.volatileStore)
          throw ApplicationFailure.nonRetryable(
            `on ${this.name}: the snapshot store /run/x/snapshots is under /run, which a reboot empties`,
            ErrorType.StoreNotDurable,
          );
        return { store: '/srv/ferry/snapshots' };
      },
      hostBoot: async () => ({ host: this.name, bootId: this.bootId }),
      listWorkloads: async () => [...this.running].map(([n, r]) => info(n, r)),
      preflightSource: async (ref: { workload: string; runtime: RuntimeName }) => ({
        facts: {
          host: this.name,
          criuVersion: '4.2',
          kernel: 'fake',
          freeBytes: 1e12,
          freeMemoryBytes: 1e12,
          runtimes: ['runc', 'process'],
          dirtyTracking: false,
        },
        workload: info(ref.workload, ref.runtime),
      }),
      createSnapshot: async (input: { snapshotId: string; workload: string; runtime: RuntimeName }) => {
        this.running.delete(input.workload);
        this.stopped.set(input.workload, input.runtime);
        this.snapshots.add(input.snapshotId);
        const record: SnapshotRecord = {
          id: input.snapshotId,
          workload: input.workload,
          runtime: input.runtime,
          host: this.name,
          createdAtMs: Date.now(),
          sizeBytes: 1,
          checksum: 'fake',
          copies: [this.name],
          fullBecause: 'fake host',
          leftRunning: false,
        };
        return record;
      },
      checkRestoreTarget: async (input: { target: string }) => ({ running: this.running.has(input.target) }),
      verifySnapshot: async () => ({ sizeBytes: 1 }),
      stopReplaced: async () => undefined,
      stageSnapshot: async () => undefined,
      restore: async (input: { workload: string; runtime: RuntimeName }) => {
        if (this.failRestoreOf.has(input.workload))
          throw ApplicationFailure.nonRetryable(
            `criu restore of ${input.workload} failed`,
            ErrorType.RestoreFailed,
          );
        this.stopped.delete(input.workload);
        this.running.set(input.workload, input.runtime);
        return { runningAtMs: Date.now(), durationMs: 5, pid: 7, stats: {}, alreadyRestored: false };
      },
      verify: async () => undefined,
      removeWorkload: async () => undefined,
      dropRestoreFolder: async () => undefined,
      removeSnapshotCopy: async (input: { snapshotId: string }) =>
        void this.snapshots.delete(input.snapshotId),
    };
  }
}

async function hibernation(id: string, host: FakeBootHost, req: Partial<HibernateRequest> = {}) {
  await host.start(t.env.nativeConnection);
  const handle = await t.env.client.workflow.start<typeof hibernateHost>(HIBERNATE_WORKFLOW, {
    taskQueue: WORKFLOW_TASK_QUEUE,
    workflowId: hibernationWorkflowId(host.name),
    args: [{ host: host.name, ...req }],
    workflowExecutionTimeout: '5m',
  });
  const ready = async (): Promise<HibernationResult> => {
    for (let i = 0; i < 300; i++) {
      const p = await handle.query(hibernationQuery).catch(() => undefined);
      if (p && (p.phase === 'ready-to-reboot' || p.phase === 'done')) return p;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`hibernation ${id} never got ready`);
  };
  return { handle, ready };
}

const catalogIds = async () => (await readCatalog(t.env.client)).map((s) => s.id);

describe('hibernateHost', () => {
  it('resumes after a reboot whose worker signal was lost: the wait asks the host itself', async () => {
    const host = new FakeBootHost('hib-probe');
    host.running.set('db', 'runc').set('worker', 'process');
    try {
      const { handle, ready } = await hibernation('probe', host);
      const r = await ready();
      expect(r.rows.map((x) => [x.workload, x.state])).toEqual([
        ['db', 'hibernated'],
        ['worker', 'hibernated'],
      ]);
      expect(host.running.size).toBe(0);
      expect((await getCordon(t.env.client, host.name)).cordoned).toBe(true);
      // A plain worker restart (same boot id) is not a reboot: nothing is restored.
      await handle.signal(HOST_BACK_SIGNAL, { host: host.name, bootId: r.bootIdBefore! });
      await new Promise((res) => setTimeout(res, 1500));
      expect((await handle.query(hibernationQuery)).phase).toBe('ready-to-reboot');
      await host.reboot(t.env.nativeConnection); // no hostBack signal this time
      const done = await handle.result();
      expect({ outcome: done.outcome, after: done.bootIdAfter }).toEqual({
        outcome: 'resumed',
        after: host.bootId,
      });
      expect([...host.running.keys()].sort()).toEqual(['db', 'worker']);
      expect((await getCordon(t.env.client, host.name)).cordoned).toBe(false);
      const ids = await catalogIds();
      for (const row of done.rows) expect(ids).not.toContain(row.snapshotId);
      expect(host.snapshots.size).toBe(0);
    } finally {
      await host.stop();
    }
  }, 90_000);

  it('a workload that cannot be restored keeps its snapshot and gets the command that retries it', async () => {
    const host = new FakeBootHost('hib-fail');
    host.running.set('good', 'runc').set('bad', 'runc');
    host.failRestoreOf.add('bad');
    try {
      const { handle, ready } = await hibernation('fail', host);
      await ready();
      await host.reboot(t.env.nativeConnection);
      await handle.signal(HOST_BACK_SIGNAL, { host: host.name, bootId: host.bootId });
      const done = await handle.result();
      expect(done.outcome).toBe('partly-resumed');
      const bad = done.rows.find((x) => x.workload === 'bad')!;
      expect(bad).toMatchObject({
        state: 'restore-failed',
        retryCommand: `ferry restore ${bad.snapshotId} --host ${host.name} --replace`,
      });
      expect(bad.cause).toMatch(/^RestoreFailed: criu restore of bad failed/);
      expect(await catalogIds()).toContain(bad.snapshotId);
      expect(host.snapshots.has(bad.snapshotId!)).toBe(true);
      expect(done.rows.find((x) => x.workload === 'good')?.state).toBe('restored');
    } finally {
      await host.stop();
    }
  }, 90_000);

  it('cancelled while it waits for the reboot: what was hibernated is restored there and then', async () => {
    const host = new FakeBootHost('hib-cancel');
    host.running.set('cache', 'process');
    try {
      const { handle, ready } = await hibernation('cancel', host);
      await ready();
      await handle.cancel();
      const done = await handle.result();
      expect(done.outcome).toBe('cancelled');
      expect(done.rows[0]).toMatchObject({ workload: 'cache', state: 'restored' });
      expect([...host.running.keys()]).toEqual(['cache']);
      expect((await getCordon(t.env.client, host.name)).cordoned).toBe(false);
    } finally {
      await host.stop();
    }
  }, 90_000);

  it('refuses a store that a reboot would empty before anything is stopped or cordoned', async () => {
    const host = new FakeBootHost('hib-tmpfs');
    host.running.set('db', 'runc');
    host.volatileStore = true;
    try {
      const { handle } = await hibernation('tmpfs', host);
      const done = await handle.result();
      expect({ outcome: done.outcome, type: done.cause?.type }).toEqual({
        outcome: 'refused',
        type: ErrorType.StoreNotDurable,
      });
      expect(done.cause?.message).toMatch(/under \/run, which a reboot empties/);
      expect([...host.running.keys()]).toEqual(['db']);
      expect((await getCordon(t.env.client, host.name)).cordoned).toBe(false);
    } finally {
      await host.stop();
    }
  }, 60_000);
});
