// One migration against two fake hosts: start their workers, start the real `migrate`
// workflow, let the test act on it while it runs (cancel, signal, stop a host), collect the
// result and what each host saw.
import type { WorkflowHandle } from '@temporalio/client';
import { WORKFLOW_TASK_QUEUE } from '../../src/domain/names.js';
import type { MigrateRequest, MigrationProgress, MigrationResult } from '../../src/domain/types.js';
import { progressQuery } from '../../src/workflows/definitions.js';
import type { migrate } from '../../src/workflows/migrate/migrate.js';
import { FakeHost } from './fake-host.js';
import type { WorkflowTestEnv } from './temporal-env.js';

export interface Hosts {
  src: FakeHost;
  dst: FakeHost;
}

export interface Migration extends Hosts {
  t: WorkflowTestEnv;
  handle: WorkflowHandle<typeof migrate>;
  request: MigrateRequest;
  /** The workflow's `progress` query. */
  progress(): Promise<MigrationProgress>;
  /** Polls the progress query until `ok` holds (or fails after timeoutMs). */
  waitForProgress(ok: (p: MigrationProgress) => boolean, timeoutMs?: number): Promise<MigrationProgress>;
}

export interface Finished extends Migration {
  result: MigrationResult;
  /** Seconds from start to result. */
  seconds: number;
}

export interface MigrationSetup {
  /** Short and unique per test: names the hosts (node-a-ID, node-b-ID) and the workflow. */
  id: string;
  request?: Partial<MigrateRequest>;
  /** Scripts the hosts' steps before the workflow starts. */
  arrange?: (h: Hosts) => void;
  /** Runs while the workflow runs (its result is awaited after this resolves). */
  act?: (m: Migration) => Promise<void>;
}

export async function runMigration(t: WorkflowTestEnv, setup: MigrationSetup): Promise<Finished> {
  const src = new FakeHost(`node-a-${setup.id}`, { running: true });
  const dst = new FakeHost(`node-b-${setup.id}`, { running: false });
  const journal: string[] = [];
  for (const h of [src, dst]) {
    h.journal = journal;
    h.peers = new Map([
      [src.name, src],
      [dst.name, dst],
    ]);
  }
  setup.arrange?.({ src, dst });
  await Promise.all([src.start(t.env.nativeConnection), dst.start(t.env.nativeConnection)]);
  const request: MigrateRequest = {
    workload: 'web',
    runtime: 'runc',
    source: src.name,
    destination: dst.name,
    verifyWindowMs: 0,
    ...setup.request,
  };
  const started = Date.now();
  const handle = await t.env.client.workflow.start<typeof migrate>('migrate', {
    taskQueue: WORKFLOW_TASK_QUEUE,
    workflowId: `migrate-${setup.id}`,
    args: [request],
    workflowExecutionTimeout: '5m',
  });
  const progress = () => handle.query(progressQuery);
  const m: Migration = {
    t,
    src,
    dst,
    handle,
    request,
    progress,
    async waitForProgress(ok, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const p = await progress();
        if (ok(p)) return p;
        if (Date.now() > deadline)
          throw new Error(`progress never got there; last: ${JSON.stringify(p, undefined, 1)}`);
        await sleep(200);
      }
    },
  };
  try {
    await setup.act?.(m);
    const result = await handle.result();
    const seconds = (Date.now() - started) / 1000;
    // Steps the workflow no longer waits for (e.g. the other host's preflight) end too.
    await Promise.all([src.settled(), dst.settled()]);
    return { ...m, result, seconds };
  } catch (err) {
    await handle.terminate('the test failed').catch(() => undefined);
    throw err;
  } finally {
    await Promise.all([src.stop(), dst.stop()]);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A promise and the function that resolves it: releases a held step. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
