// The fault matrix (issue: compensation, fencing and crash tolerance). Every fault is real:
// killed processes, iptables rules, a full tmpfs, a corrupted image, a restarted server. The
// worker's fault-injection switch (started with --fault-injection by the e2e environment) is
// used only to pause a step so that a fault lands at a precise moment.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import { FerryClient } from '../../src/client/ferry-client.js';
import { readDevState, devRestart } from '../../src/dev/dev-env.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import type { RuntimeName } from '../../src/domain/names.js';
import type { MigrateRequest, MigrationResult, Phase } from '../../src/domain/types.js';
import { HostPaths } from '../../src/host/host-paths.js';
import {
  corruptProcessTreeImage,
  E2E,
  ferry,
  hostsRunning,
  readOutput,
  ROOT,
  runtimeOn,
  sleep,
  spawnStateful,
  stateContinues,
  stateDir,
} from './env.js';

interface Row {
  fault: string;
  outcome: string;
  copies: number;
  stateKept: boolean;
  recoverMs: number;
}
const rows: Row[] = [];
const HOSTS = ['node-a', 'node-b'] as const;
const paths = (host: string) => new HostPaths(stateDir(host));
let client: FerryClient;

beforeAll(async () => {
  client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
});

afterAll(async () => {
  await client.close();
  const table = [
    '| fault | outcome | copies running | state kept | time to recover |',
    '|---|---|---:|:---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.fault} | ${r.outcome} | ${r.copies} | ${r.stateKept ? 'yes' : 'NO'} | ${(r.recoverMs / 1000).toFixed(1)} s |`,
    ),
  ].join('\n');
  await mkdir(path.join(ROOT, '.ferry'), { recursive: true });
  await writeFile(path.join(ROOT, '.ferry', 'fault-matrix.md'), `${table}\n`);
  process.stdout.write(`\nFault matrix\n${table}\n`);
});

async function spawn(runtime: RuntimeName, name: string, mib = 16): Promise<void> {
  await spawnStateful('node-a', runtime, name, { mib });
}

async function setFault(host: string, pauseMs: Record<string, number>): Promise<void> {
  await writeFile(path.join(stateDir(host), 'fault-injection.json'), JSON.stringify({ pauseMs }));
}

async function waitForPhase(handle: WorkflowHandle, phase: Phase, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await client.getProgress(handle.workflowId).catch(() => undefined);
    if (p?.phase === phase) return;
    if (Date.now() > deadline) throw new Error(`migration never reached ${phase} (now ${p?.phase})`);
    await sleep(50);
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function workerPid(host: string): Promise<number> {
  const state = await readDevState(E2E.dir);
  return state!.hosts.find((h) => h.name === host)!.workerPid!;
}

async function workerRuns(host: string): Promise<boolean> {
  try {
    process.kill(await workerPid(host), 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The rollback could not reach node-b: once its worker is back, the abandoned cleanup workflow
 * removes what the migration left there (nothing else does).
 */
async function destinationCleanedOnceBack(name: string): Promise<void> {
  await devRestart(E2E.dir, 'worker', 'node-b');
  await waitUntil('the cleanup of node-b', async () => {
    const left = await readdir(paths('node-b').migrationsRoot()).catch(() => []);
    return left.length === 0 && (await runtimeOn('node-b', 'runc').inspect(name)) === undefined;
  });
}

const copiesRunning = (runtime: RuntimeName, name: string) => hostsRunning(runtime, name, HOSTS);
const stateKeptOn = stateContinues;

async function migrationFilesLeft(): Promise<string[]> {
  const left: string[] = [];
  for (const host of HOSTS)
    for (const f of await readdir(paths(host).migrationsRoot()).catch(() => [])) left.push(`${host}:${f}`);
  return left;
}

/**
 * Overwrites the process-tree image with garbage: CRIU refuses it at once. (Truncating the
 * pages image instead made CRIU 4.2.1's restore spin forever in an unkillable task; ferry
 * bounds restore time for that, see restoreTimeoutMs.)
 */
async function corruptImages(host: string, workflowId: string): Promise<void> {
  const migrations = (await readdir(paths(host).migrationsRoot())).filter((m) =>
    m.startsWith(`${workflowId}-`),
  );
  expect(migrations).toHaveLength(1);
  await corruptProcessTreeImage(paths(host).imagesDir(migrations[0]!));
}

/** A step paused by the fault-injection switch takes the pause off the file when it starts it. */
async function waitForPause(host: string, point: string): Promise<void> {
  await waitUntil(`the pause at ${point} on ${host}`, async () => {
    const text = await readFile(path.join(stateDir(host), 'fault-injection.json'), 'utf8').catch(() => '{}');
    return !text.includes(point);
  });
}

async function removeEverywhere(runtime: RuntimeName, name: string): Promise<void> {
  for (const host of HOSTS) {
    await runtimeOn(host, runtime).stop(name, { anyOwner: true });
    await runtimeOn(host, runtime).removeFiles(name);
    await writeFile(path.join(stateDir(host), 'fault-injection.json'), '{}');
  }
}

/**
 * Runs one case: start a migration, inject the fault, wait for the outcome, then check that
 * exactly one copy runs where expected, that its state continued, and that nothing is left.
 */
async function faultCase(opts: {
  fault: string;
  runtime?: RuntimeName;
  name: string;
  mib?: number;
  request?: Partial<MigrateRequest>;
  inject: (handle: WorkflowHandle) => Promise<void>;
  expectOutcome: MigrationResult['outcome'];
  expectOn: 'node-a' | 'node-b';
  after?: () => Promise<void>;
}): Promise<MigrationResult> {
  const runtime = opts.runtime ?? 'runc';
  await spawn(runtime, opts.name, opts.mib);
  try {
    const handle = await client.startMigration({
      workload: opts.name,
      runtime,
      source: 'node-a',
      destination: 'node-b',
      ...opts.request,
    });
    const injectedAt = Date.now();
    await opts.inject(handle);
    const result = await handle.result();
    const recoverMs = Date.now() - injectedAt;
    await opts.after?.();
    const copies = await copiesRunning(runtime, opts.name);
    const stateKept = copies.length === 1 && (await stateKeptOn(copies[0]!, runtime, opts.name));
    rows.push({ fault: opts.fault, outcome: result.outcome, copies: copies.length, stateKept, recoverMs });
    expect({ outcome: result.outcome, copies, stateKept }).toEqual({
      outcome: opts.expectOutcome,
      copies: [opts.expectOn],
      stateKept: true,
    });
    expect(await migrationFilesLeft()).toEqual([]);
    if (opts.expectOn === 'node-a')
      expect(await runtimeOn('node-b', runtime).inspect(opts.name)).toBeUndefined();
    return result;
  } finally {
    await removeEverywhere(runtime, opts.name);
  }
}

describe('fault matrix', () => {
  it('1. restore fails on the destination (corrupted image): the source is restored and continues', async () => {
    await setFault('node-b', { 'before-restore': 4_000 });
    const r = await faultCase({
      fault: 'corrupted image on the destination',
      name: 'f-corrupt',
      inject: async (h) => {
        await waitForPhase(h, 'restore');
        await corruptImages('node-b', h.workflowId);
      },
      expectOutcome: 'rolled-back',
      expectOn: 'node-a',
    });
    expect(r.cause?.type).toBe('RestoreFailed');
  });

  it('2. the workload exits right after restore: the copy is gone, the source restored', async () => {
    const r = await faultCase({
      fault: 'workload exits during verify',
      name: 'f-verify',
      request: { verifyWindowMs: 5_000 },
      inject: async (h) => {
        await waitForPhase(h, 'verify');
        const copy = await runtimeOn('node-b', 'runc').inspect('f-verify');
        process.kill(copy!.pid!, 'SIGKILL');
      },
      expectOutcome: 'rolled-back',
      expectOn: 'node-a',
    });
    expect(r.cause?.type).toBe('VerifyFailed');
  });

  it('3. SSH to the destination cut during transfer: retries, then rollback', async () => {
    const rule = [
      'INPUT',
      '-s',
      `${E2E.addressPrefix}.1`,
      '-d',
      `${E2E.addressPrefix}.2`,
      '-p',
      'tcp',
      '--dport',
      String(E2E.sshPort),
      '-m',
      'comment',
      '--comment',
      'ferry-fault-test',
      '-j',
      'REJECT',
      '--reject-with',
      'tcp-reset',
    ];
    await setFault('node-a', { 'before-transfer': 3_000 });
    try {
      const r = await faultCase({
        fault: 'SSH cut during transfer (iptables)',
        name: 'f-ssh',
        inject: async (h) => {
          await waitForPhase(h, 'transfer');
          await execa('iptables', ['-I', ...rule]);
        },
        expectOutcome: 'rolled-back',
        expectOn: 'node-a',
      });
      expect(r.cause?.type).toBe('TransferFailed');
    } finally {
      await execa('iptables', ['-D', ...rule], { reject: false });
    }
  });

  it('4. destination disk full during transfer: rollback, destination cleaned', async () => {
    const migrations = paths('node-b').migrationsRoot();
    await mkdir(migrations, { recursive: true, mode: 0o700 });
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'ferry-fault-tmpfs', migrations]);
    try {
      const r = await faultCase({
        fault: 'destination disk full (8 MiB tmpfs)',
        name: 'f-full',
        mib: 64,
        inject: async () => undefined,
        expectOutcome: 'rolled-back',
        expectOn: 'node-a',
      });
      expect(r.cause?.type).toBe('InsufficientSpace');
      expect(await readdir(migrations)).toEqual([]);
    } finally {
      await execa('umount', [migrations], { reject: false });
    }
  });

  it('5. source worker SIGKILLed during transfer and restarted: the migration completes', async () => {
    await faultCase({
      fault: 'source worker SIGKILL during transfer',
      name: 'f-kill-src',
      mib: 256,
      inject: async (h) => {
        await waitForPhase(h, 'transfer');
        await sleep(300);
        process.kill(await workerPid('node-a'), 'SIGKILL');
        await devRestart(E2E.dir, 'worker', 'node-a');
      },
      expectOutcome: 'migrated',
      expectOn: 'node-b',
    });
  });

  it('6. destination worker SIGKILLed during restore and restarted: exactly one copy', async () => {
    await setFault('node-b', { 'after-restore': 8_000 });
    const r = await faultCase({
      fault: 'destination worker SIGKILL during restore',
      name: 'f-kill-dst',
      inject: async (h) => {
        await waitForPhase(h, 'restore');
        // The restore has finished (its step now pauses after it) and the copy runs.
        await waitForPause('node-b', 'after-restore');
        expect((await runtimeOn('node-b', 'runc').inspect('f-kill-dst'))?.running).toBe(true);
        process.kill(await workerPid('node-b'), 'SIGKILL');
        await devRestart(E2E.dir, 'worker', 'node-b');
      },
      expectOutcome: 'migrated',
      expectOn: 'node-b',
    });
    expect(r.phases.filter((p) => p.phase === 'restore')).toHaveLength(1);
  });

  it('7. destination worker gone for good before restore: rollback without waiting forever', async () => {
    await setFault('node-a', { 'before-transfer': 2_000 });
    try {
      await faultCase({
        fault: 'destination worker gone before restore',
        name: 'f-dst-gone',
        inject: async (h) => {
          await waitForPhase(h, 'transfer');
          process.kill(await workerPid('node-b'), 'SIGKILL');
        },
        expectOutcome: 'rolled-back',
        expectOn: 'node-a',
        // The destination was unreachable during rollback: its files are removed once it is back.
        after: () => destinationCleanedOnceBack('f-dst-gone'),
      });
    } finally {
      if (!(await workerRuns('node-b'))) await devRestart(E2E.dir, 'worker', 'node-b');
    }
  });

  it('8. Temporal server restarted mid-migration: the migration completes', async () => {
    await setFault('node-a', { 'before-transfer': 6_000 });
    await faultCase({
      fault: 'Temporal server restarted',
      name: 'f-temporal',
      inject: async (h) => {
        await waitForPhase(h, 'transfer');
        await devRestart(E2E.dir, 'temporal');
      },
      expectOutcome: 'migrated',
      expectOn: 'node-b',
    });
  });

  it('9. two concurrent migrations of one workload: the second is refused', async () => {
    await setFault('node-a', { 'before-transfer': 3_000 });
    await faultCase({
      fault: 'second concurrent migration',
      name: 'f-twice',
      inject: async () => {
        const second = await ferry([
          'migrate',
          'f-twice',
          '--runtime',
          'runc',
          '--from',
          'node-a',
          '--to',
          'node-b',
        ]);
        expect(second.exitCode).toBe(2);
        expect(second.stderr).toContain('is already running (workflow migrate-runc-node-a-f-twice)');
      },
      expectOutcome: 'migrated',
      expectOn: 'node-b',
    });
  });

  it('10a. cancel before the final dump: stops cleanly, the workload never froze', async () => {
    await setFault('node-a', { 'before-checkpoint': 8_000 });
    await faultCase({
      fault: 'cancel before the final dump',
      name: 'f-cancel-early',
      runtime: 'process',
      inject: async (h) => {
        await waitForPhase(h, 'checkpoint');
        expect((await ferry(['cancel', h.workflowId])).exitCode).toBe(0);
      },
      expectOutcome: 'cancelled',
      expectOn: 'node-a',
    });
  });

  it('10b. cancel after the final dump: rollback', async () => {
    await setFault('node-b', { 'before-restore': 8_000 });
    await faultCase({
      fault: 'cancel after the final dump',
      name: 'f-cancel-late',
      inject: async (h) => {
        await waitForPhase(h, 'restore');
        expect((await ferry(['cancel', h.workflowId])).exitCode).toBe(0);
      },
      expectOutcome: 'rolled-back',
      expectOn: 'node-a',
    });
  });

  it('10c. cancel during the verify window: rollback, the destination copy is removed', async () => {
    await faultCase({
      fault: 'cancel during the verify window',
      name: 'f-cancel-verify',
      request: { verifyWindowMs: 30_000 },
      inject: async (h) => {
        await waitForPhase(h, 'verify');
        expect((await ferry(['cancel', h.workflowId])).exitCode).toBe(0);
      },
      expectOutcome: 'rolled-back',
      expectOn: 'node-a',
    });
  });

  it('11. destination lost after its restore may have run: waits, then the operator resolves it', async () => {
    await setFault('node-b', { 'after-restore': 8_000 });
    try {
      const r = await faultCase({
        fault: 'destination lost during restore (fencing, operator resolves)',
        name: 'f-fence',
        inject: async (h) => {
          await waitForPhase(h, 'restore');
          // The restore has finished (its step now pauses after it) and the copy runs.
          await waitForPause('node-b', 'after-restore');
          expect((await runtimeOn('node-b', 'runc').inspect('f-fence'))?.running).toBe(true);
          // The whole host goes away: its worker and the copy it restored.
          process.kill(await workerPid('node-b'), 'SIGKILL');
          await runtimeOn('node-b', 'runc').stop('f-fence');
          await waitUntil(
            'the workflow to wait for the operator',
            async () =>
              ((await client.getProgress(h.workflowId)).rollback ?? '').includes('--destination-is-down'),
            120_000,
          );
          // Never two copies: while it waits, the source is still stopped.
          expect(await copiesRunning('runc', 'f-fence')).toEqual([]);
          expect((await ferry(['resolve', h.workflowId, '--destination-is-down'])).exitCode).toBe(0);
        },
        expectOutcome: 'rolled-back',
        expectOn: 'node-a',
        after: () => destinationCleanedOnceBack('f-fence'),
      });
      expect(r.rollback).toContain('declared node-b down');
    } finally {
      if (!(await workerRuns('node-b'))) await devRestart(E2E.dir, 'worker', 'node-b');
    }
  });

  /** Both checkpoints (destination and source) become unusable once the images are in place. */
  async function bothCheckpointsUnusable(name: string, fault: string, allowStartFresh: boolean) {
    await setFault('node-b', { 'before-restore': 4_000 });
    await spawn('process', name);
    const handle = await client.startMigration({
      workload: name,
      runtime: 'process',
      source: 'node-a',
      destination: 'node-b',
      allowStartFresh,
    });
    await waitForPhase(handle, 'restore');
    for (const host of HOSTS) await corruptImages(host, handle.workflowId);
    const t0 = Date.now();
    const result = await handle.result();
    const copies = await copiesRunning('process', name);
    rows.push({
      fault,
      outcome: result.outcome,
      copies: copies.length,
      stateKept: false,
      recoverMs: Date.now() - t0,
    });
    return { result, copies };
  }

  it('12. restore of the source checkpoint fails too: start fresh only when allowed', async () => {
    try {
      const { result, copies } = await bothCheckpointsUnusable(
        'f-fresh',
        'source checkpoint unusable too, start fresh allowed (state loss expected)',
        true,
      );
      expect(result.outcome).toBe('restarted-fresh');
      expect(copies).toEqual(['node-a']);
      const lines = parseStatefulOutput(await readOutput('node-a', 'process', 'f-fresh'));
      expect(analyseContinuity(lines).restarts).toBe(1); // loudly: the state was lost
      expect(result.rollback).toContain('STARTING process/f-fresh FRESH');
      expect(await migrationFilesLeft()).toEqual([]);
    } finally {
      await removeEverywhere('process', 'f-fresh');
    }
  });

  it('12b. restore of the source checkpoint fails and a fresh start is not allowed: needs an operator', async () => {
    try {
      const { result, copies } = await bothCheckpointsUnusable(
        'f-operator',
        'source checkpoint unusable too, no fresh start allowed (none running, images kept)',
        false,
      );
      expect(result.outcome).toBe('failed-needs-operator');
      expect(copies).toEqual([]);
      // The images stay on the source for the operator, and the result says what to run.
      expect(await readdir(paths('node-a').imagesDir(result.migrationId))).toContain('inventory.img');
      // The source's own line: its paths, CRIU on PATH, output into a log (docs/failure-handling.md).
      expect(result.rollback).toContain(
        `criu restore -D ${paths('node-a').imagesDir(result.migrationId)} -W`,
      );
      expect(result.rollback).toMatch(
        /run this line as root on node-a:\nPATH=\S+:"\$PATH" \S+ferry-shim --wait /,
      );
      expect(await readdir(paths('node-b').migrationsRoot())).toEqual([]);
    } finally {
      await removeEverywhere('process', 'f-operator');
      for (const host of HOSTS) await execa('rm', ['-rf', paths(host).migrationsRoot()]);
    }
  });
});
