import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { FerryClient } from '../client/ferry-client.js';
import { loadConfig } from '../config/schema.js';
import { checkName, hostTaskQueue, RUNTIMES } from '../domain/names.js';
import { run } from '../exec/run.js';
import { DEV_IMAGE } from '../runtimes/dev-image.js';
import { createRuntime } from '../runtimes/index.js';
import { ContainerEngineRuntime } from '../runtimes/container-engine.js';
import { HostPaths } from '../host/host-paths.js';
import { readJson, removeTree, writeJsonAtomic } from '../runtimes/workload-files.js';
import { unmountUnder } from '../runtimes/mounts.js';
import { removeCgroupTree } from '../runtimes/cgroups.js';
import {
  DevLayout,
  REPO_ROOT,
  toolsPath,
  type DevHostState,
  type DevOptions,
  type DevState,
} from './dev-layout.js';
import {
  buildDevImageTar,
  dockerdRunning,
  engineLayout,
  ensureHostNetns,
  installedEngines,
  loadDevImage,
  removeHostNetns,
  startDockerd,
  stopDockerd,
  stopPodmanStorage,
  writePodmanConf,
} from './container-engines.js';
import { engineFor, loadImageInto, type LoadedImage } from './load-image.js';
import { runsAs, spawnDetached, stopProcess, waitFor } from './processes.js';
import { ensureClientKey, startHostSshd } from './sshd.js';
import { closeSshMasters } from '../transfer/ssh-control.js';
import { devBootIdFile, newBootId } from './boot-id.js';
import { startTemporalDevServer, temporalReady } from './temporal-dev-server.js';

const FERRY_CLI = path.join(REPO_ROOT, 'dist', 'cli', 'index.js');

export async function readDevState(dir: string): Promise<DevState | undefined> {
  return readJson<DevState>(new DevLayout(path.resolve(dir)).stateFile);
}

/** Starts the dev server, one sshd and one worker per simulated host. Idempotent. */
export async function devUp(optsArg: DevOptions, say: (line: string) => void): Promise<DevState> {
  const opts = { ...optsArg, dir: path.resolve(optsArg.dir) };
  for (const h of opts.hosts) {
    const problem = checkName('host', h);
    if (problem) throw new Error(problem);
  }
  if (new Set(opts.hosts).size !== opts.hosts.length || opts.hosts.length < 2)
    throw new Error('--hosts needs at least two distinct host names, e.g. node-a,node-b');
  const layout = new DevLayout(opts.dir);
  const existing = await readDevState(opts.dir);
  if (existing && (await devRunning(existing))) {
    say(`dev environment already up in ${opts.dir}`);
    return existing;
  }
  if (existing) {
    say('found a stale dev environment; stopping what is left of it first');
    await devDown(opts.dir, say);
  }
  await mkdir(layout.logsDir, { recursive: true, mode: 0o700 });

  const state: DevState = {
    dir: opts.dir,
    faultInjection: opts.faultInjection ?? false,
    temporalPort: opts.temporalPort,
    uiPort: opts.uiPort,
    temporal: {
      address: `127.0.0.1:${opts.temporalPort}`,
      uiUrl: `http://127.0.0.1:${opts.uiPort}`,
      dbFile: layout.temporalDb,
    },
    hosts: opts.hosts.map((name, i) => ({
      name,
      address: `${opts.addressPrefix}.${i + 1}`,
      sshPort: opts.sshPort,
      stateDir: layout.hostStateDir(name),
      ...(opts.metricsPort ? { metricsAddress: `${opts.addressPrefix}.${i + 1}:${opts.metricsPort}` } : {}),
    })),
    configFile: layout.configFile,
  };
  const save = () => writeJsonAtomic(layout.stateFile, state);
  await save();

  say(`starting the Temporal dev server on ${state.temporal.address} (UI ${state.temporal.uiUrl})`);
  state.temporal.pid = await startTemporalDevServer({
    port: opts.temporalPort,
    uiPort: opts.uiPort,
    dbFile: layout.temporalDb,
    logFile: layout.log('temporal'),
  });
  await save();

  await ensureClientKey(layout);
  const knownHosts: string[] = [];
  for (const host of state.hosts) {
    await mkdir(host.stateDir, { recursive: true, mode: 0o700 });
    say(`starting sshd of ${host.name} on ${host.address}:${host.sshPort}`);
    const sshd = await startHostSshd(layout, host.name, host.address, host.sshPort);
    host.sshdPid = sshd.pid;
    knownHosts.push(sshd.knownHostsLine);
    await save();
  }
  await writeFile(layout.knownHosts, knownHosts.join('\n') + '\n', { mode: 0o600 });

  const engines = opts.engines === false ? { podman: false, docker: false } : await installedEngines();
  for (const host of state.hosts) {
    const e = engineLayout(layout, host.name);
    if (engines.podman || engines.docker) await ensureHostNetns(e);
    if (engines.podman) {
      await writePodmanConf(e);
      host.podman = true;
    }
    if (engines.docker) {
      say(`starting dockerd of ${host.name} (network namespace ${e.netns}, socket ${e.docker.socket})`);
      host.docker = true;
      await save();
      host.dockerdPid = await startDockerd(
        e,
        host.name,
        layout.log(`dockerd-${host.name}`),
        new HostPaths(host.stateDir).cgroupParent(host.name),
      );
    }
    await save();
  }
  if (engines.podman || engines.docker) {
    const tar = await buildDevImageTar(layout);
    for (const host of state.hosts.filter((h) => !opts.withoutImage?.includes(h.name))) {
      say(
        `loading the ferry-stateful image into ${host.name}'s ${[engines.podman && 'podman', engines.docker && 'docker'].filter(Boolean).join(' and ')}`,
      );
      await loadDevImage(engineLayout(layout, host.name), engines, tar);
    }
  }

  const config = {
    temporal: { address: state.temporal.address, namespace: 'default', uiUrl: state.temporal.uiUrl },
    transfer: { identityFile: layout.clientKey, knownHostsFile: layout.knownHosts, bindToHostAddress: true },
    hosts: state.hosts.map((h) => ({
      name: h.name,
      ssh: { address: h.address, port: h.sshPort, user: 'root' },
      stateDir: h.stateDir,
      // Each simulated host keeps its runc containers apart from the machine's /run/runc.
      runc: { root: new HostPaths(h.stateDir).runcRoot() },
      runtimes: RUNTIMES.filter((r) => (r === 'podman' ? h.podman : r === 'docker' ? h.docker : true)),
      ...engineSettings(layout, h),
      bootIdFile: devBootIdFile(layout, h.name),
      ...(h.metricsAddress ? { metrics: { bindAddress: h.metricsAddress } } : {}),
    })),
  };
  await writeFile(layout.configFile, `# ferry dev environment (written by ferry dev up)\n${toYaml(config)}`, {
    mode: 0o600,
  });
  await loadConfig(layout.configFile); // the dev config must pass the same validation as any other

  for (const host of state.hosts) await newBootId(layout, host.name);
  for (const host of state.hosts) {
    say(`starting the ferry worker of ${host.name} (task queue ${hostTaskQueue(host.name)})`);
    await startWorker(state, host.name, { wait: false });
    await save();
  }
  for (const host of state.hosts) await waitForWorker(state, host.name);
  say(`dev environment up: config ${layout.configFile}, UI ${state.temporal.uiUrl}`);
  return state;
}

/** Starts (or starts again) the worker of one simulated host; records its pid. */
export async function startWorker(
  state: DevState,
  hostName: string,
  opts: { wait: boolean },
): Promise<number> {
  const host = state.hosts.find((h) => h.name === hostName);
  if (!host) throw new Error(`no simulated host ${hostName} in ${state.dir}`);
  const layout = new DevLayout(state.dir);
  const args = [FERRY_CLI, 'worker', '--host', host.name, '--config', layout.configFile];
  if (state.faultInjection) args.push('--fault-injection');
  host.workerPid = spawnDetached(process.execPath, args, layout.log(`worker-${host.name}`), {
    ...process.env,
    PATH: toolsPath(),
  });
  await writeJsonAtomic(layout.stateFile, state);
  if (opts.wait) await waitForWorker(state, host.name);
  return host.workerPid;
}

async function waitForWorker(state: DevState, hostName: string): Promise<void> {
  await waitFor(
    `the worker of ${hostName} to poll its task queue`,
    () => hasPoller(state.temporal.address, hostName),
    90_000,
    `see ${new DevLayout(state.dir).log(`worker-${hostName}`)}`,
  );
}

/** Restarts one component: a host's worker, or the Temporal dev server on the same database. */
export async function devRestart(
  dir: string,
  component: 'worker' | 'temporal',
  hostName?: string,
): Promise<void> {
  const state = await readDevState(dir);
  if (!state) throw new Error(`no dev environment in ${dir}`);
  if (component === 'worker') {
    const host = state.hosts.find((h) => h.name === hostName);
    if (!host) throw new Error(`no simulated host ${hostName ?? '(none given)'} in ${dir}`);
    await stopProcess(host.workerPid, 'worker');
    await startWorker(state, host.name, { wait: true });
    return;
  }
  const layout = new DevLayout(dir);
  await stopProcess(state.temporal.pid, 'start-dev', 10_000);
  state.temporal.pid = await startTemporalDevServer({
    port: state.temporalPort ?? 7233,
    uiPort: state.uiPort ?? 8233,
    dbFile: state.temporal.dbFile,
    logFile: layout.log('temporal'),
  });
  await writeJsonAtomic(layout.stateFile, state);
}

async function hasPoller(address: string, host: string): Promise<boolean> {
  try {
    const client = await FerryClient.connect({ address });
    try {
      return await client.hasWorker(host);
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}

export async function devRunning(state: DevState): Promise<boolean> {
  if (!(await runsAs(state.temporal.pid, 'start-dev'))) return false;
  for (const h of state.hosts) {
    if (!(await runsAs(h.sshdPid, 'sshd')) || !(await runsAs(h.workerPid, 'worker'))) return false;
    if (h.docker && !(await dockerdRunning(h.dockerdPid))) return false;
  }
  return true;
}

/** The podman/docker settings a simulated host's config carries (only for engines it has). */
function engineSettings(layout: DevLayout, h: DevHostState) {
  const e = engineLayout(layout, h.name);
  const { root, runroot, containersConf, netns } = e.podman;
  const { socket, client, criuWorkRoot } = e.docker;
  return {
    ...(h.podman ? { podman: { root, runroot, containersConf, netns } } : {}),
    ...(h.docker ? { docker: { socket, client, criuWorkRoot } } : {}),
  };
}

/** The runtimes a simulated host has, with its own settings. */
export function hostRuntimes(state: DevState, h: DevHostState) {
  const settings = engineSettings(new DevLayout(state.dir), h);
  const paths = new HostPaths(h.stateDir);
  return RUNTIMES.filter((r) => (r === 'podman' ? h.podman : r === 'docker' ? h.docker : true)).map((r) => ({
    runtime: r,
    rt: createRuntime(r, { host: h.name, paths, runc: { root: paths.runcRoot() }, ...settings }),
  }));
}

export interface DevLoadImageOptions {
  /** Any local image (this machine's podman/docker, or `file`); ferry's dev image when absent. */
  image?: string;
  /** An image archive or a root filesystem tar to take it from. */
  file?: string;
  /** Only this engine of the host (default: every engine it has). */
  runtime?: 'podman' | 'docker';
}

/**
 * Loads an image into one simulated host's podman and/or docker (ferry dev load-image): ferry's
 * dev image, or any local one (src/dev/load-image.ts).
 */
export async function devLoadImage(
  dir: string,
  hostName: string,
  opts: DevLoadImageOptions = {},
): Promise<LoadedImage[]> {
  const state = await readDevState(dir);
  const host = state?.hosts.find((h) => h.name === hostName);
  if (!state || !host) throw new Error(`no simulated host ${hostName} in ${dir}`);
  const layout = new DevLayout(state.dir);
  const has = { podman: !!host.podman, docker: !!host.docker };
  if (opts.runtime && !has[opts.runtime])
    throw new Error(`simulated host ${hostName} has no ${opts.runtime} (this machine lacks it)`);
  const chosen = (['podman', 'docker'] as const).filter(
    (e) => has[e] && (!opts.runtime || opts.runtime === e),
  );
  if (!chosen.length) throw new Error(`simulated host ${hostName} has neither podman nor docker`);
  const ctx = { host: host.name, paths: new HostPaths(host.stateDir), ...engineSettings(layout, host) };
  if (!opts.image && !opts.file) {
    await loadDevImage(
      engineLayout(layout, host.name),
      { podman: chosen.includes('podman'), docker: chosen.includes('docker') },
      await buildDevImageTar(layout),
    );
    return Promise.all(
      chosen.map(async (e) => ({
        engine: e,
        image: DEV_IMAGE[e],
        imageId: (await engineFor(e, ctx).imageIdOf(DEV_IMAGE[e])) ?? '',
      })),
    );
  }
  return loadImageInto(
    chosen.map((e) => ({ name: e, engine: engineFor(e, ctx) })),
    { ...opts, scratchRoot: layout.dir },
  );
}

export interface DevStatusRow {
  component: string;
  pid?: number;
  running: boolean;
  detail: string;
}

export async function devStatus(dir: string): Promise<{ state?: DevState; rows: DevStatusRow[] }> {
  const state = await readDevState(dir);
  if (!state) return { rows: [] };
  const rows: DevStatusRow[] = [
    {
      component: 'temporal',
      pid: state.temporal.pid,
      running:
        (await runsAs(state.temporal.pid, 'start-dev')) && (await temporalReady(state.temporal.address)),
      detail: `${state.temporal.address}, UI ${state.temporal.uiUrl}`,
    },
  ];
  for (const h of state.hosts) {
    rows.push({
      component: `sshd ${h.name}`,
      pid: h.sshdPid,
      running: await runsAs(h.sshdPid, 'sshd'),
      detail: `${h.address}:${h.sshPort}`,
    });
    rows.push({
      component: `worker ${h.name}`,
      pid: h.workerPid,
      running: await runsAs(h.workerPid, 'worker'),
      detail: `${hostTaskQueue(h.name)}${h.metricsAddress ? `, metrics http://${h.metricsAddress}/metrics` : ''}`,
    });
    if (h.docker)
      rows.push({
        component: `dockerd ${h.name}`,
        pid: h.dockerdPid,
        running: await dockerdRunning(h.dockerdPid),
        detail: engineLayout(new DevLayout(state.dir), h.name).docker.socket,
      });
    // The line a user pastes to run each engine by hand against this host (its storage, its
    // network namespace, its daemon), e.g. to start a container the way users do.
    for (const { runtime, rt } of hostRuntimes(state, h))
      if (rt instanceof ContainerEngineRuntime)
        rows.push({
          component: `  ${runtime} by hand on ${h.name}`,
          running: true,
          detail: rt.commandLine([]),
        });
    const paths = new HostPaths(h.stateDir);
    for (const { runtime, rt } of hostRuntimes(state, h)) {
      for (const w of await rt.list().catch(() => [])) {
        rows.push({
          component: `  ${runtime}/${w.name} on ${h.name}`,
          pid: w.pid,
          running: w.running,
          detail: paths.outputLog(runtime, w.name),
        });
      }
    }
  }
  return { state, rows };
}

/** Stops everything `dev up` started and removes its folder: nothing is left behind. */
export async function devDown(dirArg: string, say: (line: string) => void): Promise<void> {
  const dir = path.resolve(dirArg);
  const state = await readDevState(dir);
  if (!state) {
    // No record (e.g. an interrupted run): still leave nothing of ours behind in the folder.
    if (
      await stat(dir).then(
        () => true,
        () => false,
      )
    ) {
      say(`no dev environment recorded in ${dir}; removing what is left of one`);
      for (const m of await unmountUnder(dir)) say(`unmounted ${m}`);
      await removeTree(dir);
    } else say(`no dev environment in ${dir}`);
    return;
  }
  for (const h of state.hosts) await stopProcess(h.workerPid, 'worker');
  for (const h of state.hosts) {
    const paths = new HostPaths(h.stateDir);
    for (const { runtime, rt } of hostRuntimes(state, h)) {
      for (const w of await rt.list().catch(() => [])) {
        say(`stopping ${runtime}/${w.name} on ${h.name}`);
        // Everything in the dev environment is its own, whoever started it.
        await rt
          .stop(w.name, { anyOwner: true })
          .catch((err) => say(`  could not stop it: ${(err as Error).message}`));
      }
    }
    const e = engineLayout(new DevLayout(dir), h.name);
    if (h.docker) {
      say(`stopping dockerd of ${h.name}`);
      await stopDockerd(e, h.dockerdPid);
    }
    if (h.podman) await stopPodmanStorage(e);
    if (h.podman || h.docker) await removeHostNetns(e);
    await removeStoppedRuncContainers(paths.runcRoot(), say);
    await removeCgroupTree(paths.cgroupParent(h.name));
    await closeSshMasters(h.stateDir);
    await stopProcess(h.sshdPid, 'sshd');
  }
  await stopProcess(state.temporal.pid, 'start-dev', 10_000);
  for (const m of await unmountUnder(dir)) say(`unmounted ${m}`);
  await removeTree(dir);
  say(`dev environment in ${dir} stopped and removed`);
}

/** Containers runc still knows (e.g. stopped after a failed restore). */
async function removeStoppedRuncContainers(root: string, say: (line: string) => void): Promise<void> {
  const ids = await readdir(root).catch(() => []);
  for (const id of ids) {
    await run('runc', ['--root', root, 'delete', '-f', id]).catch((err) =>
      say(`  runc delete ${id}: ${(err as Error).message}`),
    );
  }
}
