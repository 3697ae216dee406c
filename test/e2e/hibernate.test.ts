// Hibernation through a (simulated) reboot, docs/hibernation.md: real CRIU, runc, podman and
// processes on node-c; `ferry dev reboot` kills its worker and workloads, drops its runtimes'
// state under /run and gives it a new boot id. ferry-stateful prints "<ms> <counter> <checksum of
// its memory>": a continuous counter and one checksum say it came back with its state.
import { FerryClient } from '../../src/client/ferry-client.js';
import type { HibernationResult } from '../../src/domain/hibernation.js';
import type { RuntimeName } from '../../src/domain/names.js';
import type { SnapshotRecord } from '../../src/domain/snapshots.js';
import { analyseContinuity, parseStatefulOutput } from '../../src/domain/output-analysis.js';
import { readDevState } from '../../src/dev/dev-env.js';
import { E2E, ferry, hostsRunning, runtimeOn, sleep, spawnStateful, verifyMemory } from './env.js';

const HOST = 'node-c';
const FALLBACK = 'node-b';
const started: { host: string; runtime: RuntimeName; name: string }[] = [];

async function json<T>(
  args: string[],
  timeoutMs?: number,
): Promise<{ exitCode: number; result: T; stderr: string }> {
  const r = await ferry([...args, '--json'], timeoutMs);
  try {
    return { exitCode: r.exitCode, result: JSON.parse(r.stdout) as T, stderr: r.stderr };
  } catch {
    throw new Error(
      `ferry ${args.join(' ')} printed no JSON (exit ${r.exitCode}):\n${r.stdout}\n${r.stderr}`,
    );
  }
}

async function spawn(runtime: RuntimeName, name: string, mib = 16): Promise<void> {
  started.push({ host: HOST, runtime, name });
  await spawnStateful(HOST, runtime, name, { mib, intervalMs: 20 });
}

/** The whole output on host: it went on from where it was (no restart, no gap in the counter, one memory checksum). */
async function continuedOn(host: string, runtime: RuntimeName, name: string): Promise<void> {
  const before = parseStatefulOutput(await runtimeOn(host, runtime).output(name)).length;
  for (let i = 0; i < 100; i++) {
    const lines = parseStatefulOutput(await runtimeOn(host, runtime).output(name));
    if (lines.length >= before + 10) {
      const c = analyseContinuity(lines);
      expect({
        what: `${runtime}/${name}`,
        restarts: c.restarts,
        breaks: c.counterBreaks,
        sums: c.distinctChecksums,
      }).toEqual({ what: `${runtime}/${name}`, restarts: 0, breaks: 0, sums: 1 });
      const mem = await verifyMemory(host, runtime, name);
      expect(mem.recomputed).toBe(mem.running);
      return;
    }
    await sleep(100);
  }
  throw new Error(`${runtime}/${name} does not print on ${host}`);
}

async function cordoned(host: string): Promise<boolean> {
  const client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}` });
  try {
    return (await client.cordonState(host)).cordoned;
  } finally {
    await client.close();
  }
}

const catalogIds = async () => (await json<SnapshotRecord[]>(['snapshot', 'ls'])).result.map((s) => s.id);

afterAll(async () => {
  for (const w of started) {
    for (const h of [HOST, FALLBACK]) {
      const rt = runtimeOn(h, w.runtime);
      await rt.stop(w.name, { anyOwner: true }).catch(() => undefined);
      await rt.removeFiles(w.name).catch(() => undefined);
    }
  }
  await ferry(['uncordon', HOST]);
  for (const id of await catalogIds().catch(() => [] as string[])) await ferry(['snapshot', 'rm', id]);
});

describe('hibernate, reboot, resume', () => {
  it('runc, process, podman and docker come back with their state after a reboot; the Temporal server restarts while it waits; a workload CRIU cannot checkpoint keeps running', async () => {
    await spawn('runc', 'hib-runc');
    await spawn('process', 'hib-proc');
    await spawn('podman', 'hib-podman');
    await spawn('docker', 'hib-docker');
    // An established TCP connection (to itself) without --tcp-established: refused before any freeze.
    started.push({ host: HOST, runtime: 'process', name: 'hib-tcp' });
    const tcp = await ferry([
      'dev',
      'spawn',
      '--host',
      HOST,
      '--runtime',
      'process',
      '--name',
      'hib-tcp',
      '--',
      'python3',
      '-c',
      "import socket,time\nl=socket.socket();l.bind(('127.0.0.1',0));l.listen()\nc=socket.create_connection(l.getsockname());a,_=l.accept()\nwhile True:\n  print('tick',flush=True);time.sleep(0.1)",
    ]);
    expect(tcp.exitCode).toBe(0);

    const ready = await json<HibernationResult & { workflowId: string }>(['hibernate', HOST], 300_000);
    expect({ exit: ready.exitCode, id: ready.result.workflowId, phase: ready.result.phase }).toEqual({
      exit: 0,
      id: `hibernate-${HOST}`,
      phase: 'ready-to-reboot',
    });
    const state = Object.fromEntries(ready.result.rows.map((r) => [r.workload, r.state]));
    expect(state).toEqual({
      'hib-runc': 'hibernated',
      'hib-proc': 'hibernated',
      'hib-podman': 'hibernated',
      'hib-docker': 'hibernated',
      'hib-tcp': 'checkpoint-failed',
    });
    const failed = ready.result.rows.find((r) => r.workload === 'hib-tcp')!;
    expect(failed.running).toBe(true);
    expect(failed.cause).toMatch(/tcp/i);
    expect(await hostsRunning('process', 'hib-tcp', [HOST])).toEqual([HOST]);
    for (const [rt, n] of [
      ['runc', 'hib-runc'],
      ['process', 'hib-proc'],
      ['podman', 'hib-podman'],
      ['docker', 'hib-docker'],
    ] as const)
      expect(await hostsRunning(rt, n, [HOST])).toEqual([]);
    expect(await cordoned(HOST)).toBe(true);

    // The server goes away and comes back while the workflow waits for the reboot.
    expect((await ferry(['dev', 'restart', 'temporal'])).exitCode).toBe(0);
    const reboot = await json<{ bootId: string; bootIdBefore: string; killed: string[] }>([
      'dev',
      'reboot',
      HOST,
    ]);
    expect(reboot.exitCode).toBe(0);
    expect(reboot.result.bootId).not.toBe(reboot.result.bootIdBefore);
    expect(reboot.result.killed).toContain('process/hib-tcp');
    expect(reboot.result.killed.filter((k) => k.includes('hib-') && k !== 'process/hib-tcp')).toEqual([]);

    const done = await json<HibernationResult>(['hibernation', HOST, '--wait'], 300_000);
    expect({ exit: done.exitCode, outcome: done.result.outcome, after: done.result.bootIdAfter }).toEqual({
      exit: 0,
      outcome: 'resumed',
      after: reboot.result.bootId,
    });
    for (const [rt, n] of [
      ['runc', 'hib-runc'],
      ['process', 'hib-proc'],
      ['podman', 'hib-podman'],
      ['docker', 'hib-docker'],
    ] as const) {
      expect(done.result.rows.find((r) => r.workload === n)?.state).toBe('restored');
      await continuedOn(HOST, rt, n);
    }
    // Back in service, and what was kept only for the reboot is gone.
    expect(await cordoned(HOST)).toBe(false);
    const ids = await catalogIds();
    for (const r of done.result.rows.filter((x) => x.snapshotId)) expect(ids).not.toContain(r.snapshotId);
    expect(done.result.readyMs).toBeGreaterThan(0);
    expect(done.result.resumeMs).toBeGreaterThan(0);
  });

  it('a host that is not back by the deadline: its workloads are restored on the fallback host from the copies made before', async () => {
    await spawn('runc', 'hib-far-runc');
    await spawn('process', 'hib-far-proc');
    const ready = await json<HibernationResult & { workflowId: string }>(
      ['hibernate', HOST, '--name', 'hib-far-*', '--fallback', FALLBACK, '--deadline', '25s'],
      300_000,
    );
    expect({ exit: ready.exitCode, phase: ready.result.phase }).toEqual({
      exit: 0,
      phase: 'ready-to-reboot',
    });
    expect(ready.result.rows.map((r) => [r.workload, r.state, r.copiedTo]).sort()).toEqual([
      ['hib-far-proc', 'hibernated', FALLBACK],
      ['hib-far-runc', 'hibernated', FALLBACK],
    ]);
    // The host goes down and stays down: its worker is stopped, not started again.
    const pid = (await readDevState(E2E.dir))?.hosts.find((h) => h.name === HOST)?.workerPid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    try {
      const done = await json<HibernationResult>(['hibernation', HOST, '--wait'], 300_000);
      expect({ exit: done.exitCode, outcome: done.result.outcome }).toEqual({
        exit: 0,
        outcome: 'restored-elsewhere',
      });
      for (const [rt, n] of [
        ['runc', 'hib-far-runc'],
        ['process', 'hib-far-proc'],
      ] as const) {
        started.push({ host: FALLBACK, runtime: rt, name: n });
        expect(done.result.rows.find((r) => r.workload === n)).toMatchObject({
          state: 'restored-elsewhere',
          restoredOn: FALLBACK,
        });
        await continuedOn(FALLBACK, rt, n);
      }
      // It did not come back: it stays cordoned.
      expect(await cordoned(HOST)).toBe(true);
    } finally {
      expect((await ferry(['dev', 'restart', 'worker', '--host', HOST])).exitCode).toBe(0);
    }
  });

  it('refuses an unknown host and a fallback that is the host itself, starting nothing (exit 2)', async () => {
    const unknown = await ferry(['hibernate', 'no-such-host']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/unknown host "no-such-host"/);
    const self = await ferry(['hibernate', HOST, '--fallback', HOST]);
    expect(self.exitCode).toBe(2);
    expect(self.stderr).toMatch(/cannot be its own fallback host/);
    const deadline = await ferry(['hibernate', HOST, '--deadline', 'soon']);
    expect(deadline.exitCode).toBe(2);
    expect(deadline.stderr).toMatch(/--deadline soon is neither an ISO time/);
  });
});
