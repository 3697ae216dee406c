// Evacuating a host (issue: evacuateHost and schedules) against the real dev environment:
// four simulated hosts, runc and process workloads, a real restore failure.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FerryClient } from '../../src/client/ferry-client.js';
import type { RuntimeName } from '../../src/domain/names.js';
import { HostPaths } from '../../src/host/host-paths.js';
import type { EvacuationResult } from '../../src/workflows/evacuate-host.js';
import {
  corruptProcessTreeImage,
  E2E,
  ferry,
  hostsRunning,
  runtimeOn,
  sleep,
  spawnStateful,
  stateContinues,
  stateDir,
  waitForLines,
} from './env.js';

const WORKLOADS: [RuntimeName, string][] = [
  ['runc', 'e-web1'],
  ['runc', 'e-web2'],
  ['process', 'e-calc1'],
  ['process', 'e-calc2'],
  ['runc', 'e-bad'],
];
const ALL: [RuntimeName, string][] = [...WORKLOADS, ['runc', 'e-cache'], ['runc', 'e-other']];
let client: FerryClient;

async function spawn(host: string, runtime: RuntimeName, name: string): Promise<void> {
  await spawnStateful(host, runtime, name, { lines: 10 });
}

const hostOf = (runtime: RuntimeName, name: string) => hostsRunning(runtime, name);
const continuous = (host: string, runtime: RuntimeName, name: string) =>
  stateContinues(host, runtime, name, 300);

/** While e-bad waits before its restore, damage its images there: a real restore failure. */
async function corruptWhenPaused(): Promise<void> {
  for (let i = 0; i < 600; i++) {
    for (const host of ['node-b', 'node-c']) {
      const spec = await readFile(path.join(stateDir(host), 'fault-injection.json'), 'utf8').catch(() => '');
      if (spec.includes('e-bad')) continue; // not taken here (yet)
      const migrations = await readdir(new HostPaths(stateDir(host)).migrationsRoot()).catch(() => []);
      const m = migrations.find((x) => x.startsWith('migrate-runc-node-a-e-bad-'));
      if (!m) continue;
      await corruptProcessTreeImage(new HostPaths(stateDir(host)).imagesDir(m));
      return;
    }
    await sleep(100);
  }
  throw new Error('e-bad never paused before its restore');
}

describe('evacuating a host', () => {
  beforeAll(async () => {
    client = await FerryClient.connect({ address: `127.0.0.1:${E2E.temporalPort}`, knownHosts: E2E.hosts });
  });
  afterAll(async () => {
    for (const s of await client.listSchedules()) await client.deleteSchedule(s.id);
    for (const h of E2E.hosts) {
      await client.uncordon(h);
      await writeFile(path.join(stateDir(h), 'fault-injection.json'), '{}');
      for (const [rt, name] of ALL) {
        await runtimeOn(h, rt).stop(name, { anyOwner: true });
        await runtimeOn(h, rt).removeFiles(name);
      }
    }
    await client.close();
  });

  it('moves every workload off node-a with concurrency 2, spreads them, skips the cordoned host, and reports a failure', async () => {
    expect((await ferry(['cordon', 'node-d', '--reason', 'maintenance'])).exitCode).toBe(0);
    for (const [rt, name] of WORKLOADS) await spawn('node-a', rt, name);
    for (const h of ['node-b', 'node-c'])
      await writeFile(
        path.join(stateDir(h), 'fault-injection.json'),
        JSON.stringify({ pauseMs: { 'before-restore:e-bad': 5_000 } }),
      );

    const [run] = await Promise.all([
      ferry(['evacuate', 'node-a', '--concurrency', '2', '--json']),
      corruptWhenPaused(),
    ]);
    expect(run.exitCode).toBe(1); // not everything moved: e-bad was rolled back
    const result = JSON.parse(run.stdout) as EvacuationResult;

    expect(result.excludedCandidates).toEqual([{ host: 'node-d', reason: 'cordoned (maintenance)' }]);
    const byName = Object.fromEntries(result.rows.map((r) => [r.workload, r]));
    for (const [rt, name] of WORKLOADS.filter(([, n]) => n !== 'e-bad')) {
      expect(byName[name]).toMatchObject({ outcome: 'migrated' });
      const dest = byName[name]!.destination!;
      expect(['node-b', 'node-c']).toContain(dest);
      expect(await hostOf(rt, name)).toEqual([dest]);
      expect(await continuous(dest, rt, name)).toBe(true);
    }
    expect(new Set(result.rows.map((r) => r.destination))).toEqual(new Set(['node-b', 'node-c']));
    expect(byName['e-bad']).toMatchObject({ outcome: 'rolled-back' });
    expect(byName['e-bad']!.cause).toContain('RestoreFailed');
    expect(await hostOf('runc', 'e-bad')).toEqual(['node-a']);
    expect(await continuous('node-a', 'runc', 'e-bad')).toBe(true);
    expect(result.moved).toBe(4);
    // The evacuated host stays cordoned: it is going down.
    expect((await client.cordonState('node-a')).cordoned).toBe(true);
  });

  it('refuses an unknown host and a host already being evacuated', async () => {
    const unknown = await ferry(['evacuate', 'node-z']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('unknown host "node-z"');

    await client.uncordon('node-b');
    const first = await client.startEvacuation({ host: 'node-a', candidates: ['node-b'] });
    const second = await ferry(['evacuate', 'node-a', '--to', 'node-b']);
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toContain('host node-a is already being evacuated (workflow evacuate-node-a)');
    const r = await first.result();
    expect(r.rows.map((x) => [x.workload, x.outcome])).toEqual([['e-bad', 'migrated']]);
  });

  it('a schedule --at a few seconds ahead fires and evacuates; pause prevents a run; delete removes it', async () => {
    // node-c -> node-b (node-a and node-d are cordoned).
    const onC = async () => {
      let n = 0;
      for (const [rt, name] of WORKLOADS) if ((await runtimeOn('node-c', rt).inspect(name))?.running) n++;
      return n;
    };
    expect(await onC()).toBeGreaterThan(0);
    // Far enough ahead that creating and pausing both schedules finishes first on a loaded machine.
    const at = new Date(Date.now() + 15_000).toISOString();
    const created = await ferry(['schedule', 'evacuate', 'node-c', '--at', at, '--note', 'reboot window']);
    expect(created.exitCode).toBe(0);
    const id = created.stdout.trim();
    const paused = await ferry([
      'schedule',
      'evacuate',
      'node-b',
      '--at',
      new Date(Date.now() + 20_000).toISOString(),
    ]);
    const pausedId = paused.stdout.trim();
    expect((await ferry(['schedule', 'pause', pausedId])).exitCode).toBe(0);

    for (let i = 0; i < 120 && (await onC()) > 0; i++) await sleep(500);
    expect(await onC()).toBe(0);

    const list = JSON.parse((await ferry(['schedule', 'list', '--json'])).stdout) as {
      id: string;
      paused: boolean;
      recentRuns: number;
      note?: string;
    }[];
    expect(list.find((s) => s.id === id)).toMatchObject({ recentRuns: 1, note: 'reboot window' });
    expect(list.find((s) => s.id === pausedId)).toMatchObject({ paused: true, recentRuns: 0 });
    // The paused one never ran: node-b still has everything it received.
    for (const [rt, name] of WORKLOADS)
      if ((await hostOf(rt, name)).length) expect(await hostOf(rt, name)).toEqual(['node-b']);

    for (const s of [id, pausedId]) expect((await ferry(['schedule', 'delete', s])).exitCode).toBe(0);
    const after = JSON.parse((await ferry(['schedule', 'list', '--json'])).stdout) as { id: string }[];
    expect(after.map((s) => s.id)).not.toContain(id);
    expect(after.map((s) => s.id)).not.toContain(pausedId);
  });
  it('a deadline too close starts no migration and reports what remained', async () => {
    // Everything sits on node-b now; node-a, node-c and node-d are cordoned: allow node-c.
    await client.uncordon('node-c');
    const deadline = new Date(Date.now() + 5_000).toISOString();
    const run = await ferry(['evacuate', 'node-b', '--to', 'node-c', '--deadline', deadline, '--json']);
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(run.stdout) as EvacuationResult;
    expect(result.rows.length).toBeGreaterThan(0);
    for (const row of result.rows) {
      expect(row.outcome).toBe('skipped-deadline');
      expect(row.cause).toContain(`before ${deadline}`);
      expect(await hostOf(row.runtime, row.workload)).toEqual(['node-b']);
    }
  });

  it('moves only the workloads with the given label', async () => {
    await client.uncordon('node-d');
    const labelled = ['--label', 'tier=cache'];
    for (const [name, extra] of [
      ['e-cache', labelled],
      ['e-other', []],
    ] as const) {
      await spawnStateful('node-d', 'runc', name, { mib: 4, lines: 5, extra: [...extra] });
      await waitForLines('node-d', 'runc', name, 5);
    }
    const run = await ferry(['evacuate', 'node-d', '--to', 'node-c', '--label', 'tier=cache', '--json']);
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as EvacuationResult;
    expect(result.rows.map((r) => [r.workload, r.outcome, r.destination])).toEqual([
      ['e-cache', 'migrated', 'node-c'],
    ]);
    expect(await hostOf('runc', 'e-cache')).toEqual(['node-c']);
    expect(await hostOf('runc', 'e-other')).toEqual(['node-d']);
    expect((await runtimeOn('node-c', 'runc').inspect('e-cache'))?.labels).toEqual({ tier: 'cache' });
  });
});
