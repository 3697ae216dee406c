// ferry dev reboot HOST: what a reboot does to a simulated host, for hibernation tests
// (docs/hibernation.md). Its worker and workloads are killed (no shutdown hooks run), the
// runtimes' state that lives under /run on a real host is gone, the host gets a new boot id and
// its worker starts again. Its disk (state folder, podman's storage) is kept, as a disk is.
import { mkdir, readFile } from 'node:fs/promises';
import { readProc } from '../runtimes/process-tree.js';
import { childPids, isAlive } from '../host/procfs.js';
import { HostPaths } from '../host/host-paths.js';
import { removeCgroupTree } from '../runtimes/cgroups.js';
import { removeTree } from '../runtimes/workload-files.js';
import { closeSshMasters } from '../transfer/ssh-control.js';
import { engineLayout, stopPodmanStorage } from './container-engines.js';
import { hostRuntimes, readDevState, startWorker } from './dev-env.js';
import { DevLayout } from './dev-layout.js';
import { devBootIdFile, newBootId } from './boot-id.js';
import { runsAs, sleep } from './processes.js';

export interface RebootReport {
  host: string;
  bootIdBefore?: string;
  bootId: string;
  killed: string[];
  workerPid: number;
}

export async function devReboot(
  dir: string,
  hostName: string,
  say: (line: string) => void,
): Promise<RebootReport> {
  const state = await readDevState(dir);
  if (!state) throw new Error(`no dev environment in ${dir}: ferry dev up first`);
  const host = state.hosts.find((h) => h.name === hostName);
  if (!host)
    throw new Error(
      `no simulated host ${hostName} in ${dir} (hosts: ${state.hosts.map((h) => h.name).join(', ')})`,
    );
  const layout = new DevLayout(state.dir);
  const bootIdBefore =
    (await readFile(devBootIdFile(layout, host.name), 'utf8').catch(() => '')).trim() || undefined;
  // 1. Power goes: the worker first (nothing of ferry's runs on the way down), then every workload.
  if (await runsAs(host.workerPid, 'worker')) killQuietly(host.workerPid!);
  const killed: string[] = [];
  for (const { runtime, rt } of hostRuntimes(state, host))
    for (const w of await rt.list().catch(() => []))
      if (w.running && w.pid) {
        await killTree(w.pid);
        killed.push(`${runtime}/${w.name}`);
      }
  if (killed.length) say(`killed on ${host.name}: ${killed.join(', ')}`);
  // 2. What lives under /run is gone: runc's state, podman's run root (its storage stays).
  const paths = new HostPaths(host.stateDir);
  await removeTree(paths.runcRoot());
  if (host.podman) {
    const e = engineLayout(layout, host.name);
    await stopPodmanStorage(e);
    await mkdir(e.podman.tmpDir, { recursive: true, mode: 0o700 });
  }
  await removeCgroupTree(paths.cgroupParent(host.name)).catch(() => undefined);
  await closeSshMasters(host.stateDir);
  // 3. A new boot, and the worker starts with it (as its systemd unit would).
  const bootId = await newBootId(layout, host.name);
  say(`${host.name} rebooted: boot id ${bootId}; starting its worker`);
  const workerPid = await startWorker(state, host.name, { wait: true });
  return { host: host.name, bootIdBefore, bootId, killed, workerPid };
}

/** SIGKILL a process and everything under it; a conmon or ferry-shim above it goes too. */
async function killTree(pid: number): Promise<void> {
  const parent = await readProc(pid).then((p) => (p ? readProc(p.ppid) : undefined));
  const all: number[] = [];
  const walk = async (p: number) => {
    all.push(p);
    for (const c of await childPids(p)) await walk(c);
  };
  await walk(pid);
  if (parent && (parent.comm === 'conmon' || parent.comm === 'ferry-shim')) all.unshift(parent.pid);
  for (const p of all) killQuietly(p);
  for (let i = 0; i < 50; i++) {
    const alive = await Promise.all(all.map((p) => isAlive(p)));
    if (!alive.some(Boolean)) return;
    await sleep(100);
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
