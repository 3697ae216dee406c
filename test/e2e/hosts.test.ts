// ferry hosts and worker liveness with real workers: a killed worker is seen down at once (while
// Temporal still lists its poller), requests that need it are refused naming it and the command
// that starts it, and a worker that stops cleanly takes its SSH control masters with it.
import { readFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/schema.js';
import type { MigrationResult } from '../../src/domain/types.js';
import { execa } from 'execa';
import { readDevState, startWorker } from '../../src/dev/dev-env.js';
import { stopProcess } from '../../src/dev/processes.js';
import type { HostStatus } from '../../src/client/hosts.js';
import { sshControlDir } from '../../src/transfer/ssh-control.js';
import { E2E, CONFIG_FILE, ferry, runtimeOn, sleep, spawnStateful, stateDir } from './env.js';

const DOWN = 'node-c';
const NAME = 'hh-probe';
const NAME2 = 'hh-probe2';

async function hosts(): Promise<HostStatus[]> {
  const r = await ferry(['hosts', '--json']);
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout) as HostStatus[];
}

/** Migrates a process workload from node-a to node-b. */
const moveToB = (name: string, ...extra: string[]) =>
  ferry(['migrate', name, '--runtime', 'process', '--from', 'node-a', '--to', 'node-b', ...extra]);

async function workerPid(host: string): Promise<number> {
  return (await readDevState(E2E.dir))!.hosts.find((h) => h.name === host)!.workerPid!;
}

/** Runs and is not a zombie (an exited worker's parent may be slow to reap it, or never). */
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
};

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && alive(pid); i++) await sleep(100);
  return !alive(pid);
}

/** ssh processes (masters) whose control path lies in this host's control folder. */
async function mastersOf(host: string): Promise<string[]> {
  const r = await execa('pgrep', ['-af', sshControlDir(stateDir(host))], { reject: false });
  return String(r.stdout)
    .split('\n')
    .filter((l) => l.includes('ssh') && !l.includes('pgrep'));
}

describe('ferry hosts and worker liveness', () => {
  afterAll(async () => {
    // Whatever happened, every worker runs again and the workload is gone.
    const state = (await readDevState(E2E.dir))!;
    for (const h of state.hosts) if (!alive(h.workerPid!)) await startWorker(state, h.name, { wait: true });
    for (const host of ['node-a', 'node-b'])
      for (const name of [NAME, NAME2]) {
        await runtimeOn(host, 'process').stop(name, { anyOwner: true });
        await runtimeOn(host, 'process').removeFiles(name);
      }
  });

  it('lists every configured host with its worker up, its versions and its runc root', async () => {
    const all = await hosts();
    expect(all.map((h) => [h.name, h.up])).toEqual(E2E.hosts.map((h) => [h, true]));
    for (const h of all) {
      expect(h.runcRoot).toMatch(/^\//);
      expect(h.ferryVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(h.criuVersion).toMatch(/^\d+\.\d+/);
      expect(h.runtimes).toContain('runc');
      expect(h.freeBytes).toBeGreaterThan(0);
      expect(h.cordoned).toBe(false);
      expect(h.stateDir).toBe(stateDir(h.name));
    }
  });

  it('sees a killed worker down while its poller is still listed, and refuses requests that need it', async () => {
    const pid = await workerPid(DOWN);
    process.kill(pid, 'SIGKILL');
    expect(await gone(pid)).toBe(true);

    const started = Date.now();
    const down = (await hosts()).find((h) => h.name === DOWN)!;
    console.log(`ferry hosts answered in ${Date.now() - started} ms with ${DOWN}'s worker killed`);
    expect(down.up).toBe(false);
    // Temporal still lists the dead poller (for minutes): the probe, not the list, said down.
    expect(down.lastPollAgoS).toBeLessThan(70);
    expect(down.downBecause).toBe('it did not pick up a probe within 4 s (stopped or hung)');
    expect(down.startWith).toBe(`ferry worker --host ${DOWN} --config ${CONFIG_FILE}`);
    expect((await hosts()).filter((h) => !h.up).map((h) => h.name)).toEqual([DOWN]);

    const migrate = await ferry(['migrate', 'web', '--runtime', 'runc', '--from', 'node-a', '--to', DOWN]);
    expect(migrate.exitCode).toBe(2);
    expect(migrate.stderr).toContain(
      `destination host ${DOWN} has no running ferry worker: it did not pick up a probe within 4 s (stopped or hung). Start it on ${DOWN} with: ferry worker --host ${DOWN} --config ${CONFIG_FILE}`,
    );
    const evacuate = await ferry(['evacuate', DOWN]);
    expect(evacuate.exitCode).toBe(2);
    expect(evacuate.stderr).toContain(`source host ${DOWN} has no running ferry worker`);
    const snapshot = await ferry(['snapshot', 'create', 'web', '--runtime', 'runc', '--host', DOWN]);
    expect(snapshot.exitCode).toBe(2);
    expect(snapshot.stderr).toContain(`snapshot host ${DOWN} has no running ferry worker`);

    const state = (await readDevState(E2E.dir))!;
    await startWorker(state, DOWN, { wait: true });
    expect((await hosts()).find((h) => h.name === DOWN)!.up).toBe(true);
  });

  it('an unknown host key is refused by the preflight, with the file and ssh-keyscan, though a master to that host is open', async () => {
    await spawnStateful('node-a', 'process', NAME, { mib: 4 });
    const first = await moveToB(NAME);
    expect(first.exitCode).toBe(0);
    expect((await mastersOf('node-a')).length).toBeGreaterThan(0); // opened under the old known_hosts

    const config = parseConfig(parseYaml(await readFile(CONFIG_FILE, 'utf8')));
    const file = config.transfer.knownHostsFile;
    const b = config.hosts.find((h) => h.name === 'node-b')!.ssh;
    const original = await readFile(file, 'utf8');
    const entry = `[${b.address}]:${b.port} `;
    expect(original).toContain(entry);
    await spawnStateful('node-a', 'process', NAME2, { mib: 4 });
    try {
      await writeFile(
        file,
        original
          .split('\n')
          .filter((l) => !l.startsWith(entry))
          .join('\n'),
      );
      const refused = await moveToB(NAME2, '--json');
      expect(refused.exitCode).toBe(2);
      const result = JSON.parse(refused.stdout) as MigrationResult;
      expect(result.outcome).toBe('refused');
      expect(result.freezes).toBe(0);
      expect(result.cause).toEqual({
        type: 'HostKeyRejected',
        message: `node-a does not know node-b's SSH host key (${b.address}:${b.port}): ${file} has no entry for [${b.address}]:${b.port}. Add it on node-a (then compare its fingerprint with node-b's): ssh-keyscan -p ${b.port} ${b.address} >> ${file}`,
      });
    } finally {
      await writeFile(file, original);
    }
    // The workload was never touched: it runs on node-a as before.
    expect((await runtimeOn('node-a', 'process').inspect(NAME2))?.running).toBe(true);
  });

  it('a worker that stops cleanly ends its SSH control masters and leaves nothing under /run/ferry', async () => {
    const moved = await moveToB(NAME2);
    expect(moved.exitCode).toBe(0);
    // The transfer left a master open (ControlPersist) for the next one.
    const dir = sshControlDir(stateDir('node-a'));
    expect((await readdir(dir)).length).toBeGreaterThan(0);
    expect((await mastersOf('node-a')).length).toBeGreaterThan(0);

    const pid = await workerPid('node-a');
    await stopProcess(pid, 'worker', 20_000); // SIGTERM, as systemd stops it
    expect(await gone(pid)).toBe(true);
    expect(await readdir(dir).catch(() => 'gone')).toBe('gone');
    expect(await mastersOf('node-a')).toEqual([]);

    const state = (await readDevState(E2E.dir))!;
    await startWorker(state, 'node-a', { wait: true });
  });
});
