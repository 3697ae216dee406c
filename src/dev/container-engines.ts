import { access, constants, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';
import { HostPaths } from '../host/host-paths.js';
import { buildBusyboxRootfs } from '../runtimes/rootfs.js';
import type { DockerSettings, PodmanSettings } from '../host/engine-settings.js';
import { DEV_IMAGE_REF } from '../runtimes/dev-image.js';
import { unmountUnder } from '../runtimes/mounts.js';
import type { DevLayout } from './dev-layout.js';
import { REPO_ROOT, toolsPath } from './dev-layout.js';
import { runsAs, spawnDetached, stopProcess, waitFor } from './processes.js';

// Per simulated host: podman with its own storage and containers.conf, and its own dockerd
// (own data root, exec root, socket) inside its own network namespace, so that its bridge and
// iptables rules never touch the machine's or another daemon's (docs/operations.md).
// Short paths under /run/ferry keep unix sockets below the 108-byte limit.

const DOCKER_CLIENT = '/usr/bin/docker';
/** runc wrapper that keeps CRIU's logs where ferry can read them (docs/runtimes.md). */
export const DOCKER_RUNC_WRAPPER = path.join(REPO_ROOT, 'bin', 'ferry-docker-runc');
const DOCKER_RUNTIME = 'ferry-runc';

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function onPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':'))
    if (await executable(path.join(dir, program))) return true;
  return false;
}

/** Which container engines this machine has (dev up starts only those). */
export async function installedEngines(): Promise<{ podman: boolean; docker: boolean }> {
  return {
    podman: await onPath('podman'),
    docker: (await onPath('dockerd')) && (await executable(DOCKER_CLIENT)),
  };
}

export interface EngineLayout {
  podman: Required<PodmanSettings> & { tmpDir: string };
  docker: Required<DockerSettings> & {
    dataRoot: string;
    execRoot: string;
    pidFile: string;
    netns: string;
    configFile: string;
  };
}

export function engineLayout(layout: DevLayout, host: string): EngineLayout {
  const id = new HostPaths(layout.hostStateDir(host)).stateHash();
  const podmanRun = `/run/ferry/p-${id}`;
  const execRoot = `/run/ferry/d-${id}`;
  return {
    podman: {
      root: path.join(layout.hostDir(host), 'podman', 'root'),
      runroot: podmanRun,
      tmpDir: path.join(podmanRun, 'tmp'),
      containersConf: path.join(layout.hostDir(host), 'podman', 'containers.conf'),
    },
    docker: {
      socket: path.join(execRoot, 'docker.sock'),
      client: DOCKER_CLIENT,
      dataRoot: path.join(layout.hostDir(host), 'docker'),
      criuWorkRoot: path.join(layout.hostDir(host), 'docker-criu'),
      configFile: path.join(layout.hostDir(host), 'dockerd.json'),
      execRoot,
      pidFile: path.join(execRoot, 'dockerd.pid'),
      netns: `ferry-${id}`,
    },
  };
}

/** containers.conf of one simulated host: runc, cgroupfs, explicit ulimits, file events. */
export async function writePodmanConf(e: EngineLayout): Promise<void> {
  await mkdir(path.dirname(e.podman.containersConf), { recursive: true, mode: 0o700 });
  await mkdir(e.podman.tmpDir, { recursive: true, mode: 0o700 });
  const conf = [
    '# written by ferry dev up (docs/runtimes.md: why each setting)',
    '[containers]',
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `tmp_dir = "${e.podman.tmpDir}"`,
    '',
  ].join('\n');
  await writeFile(e.podman.containersConf, conf, { mode: 0o600 });
}

/** Starts the host's dockerd in its own network namespace; returns its pid. */
export async function startDockerd(
  e: EngineLayout,
  host: string,
  logFile: string,
  cgroupParent: string,
): Promise<number> {
  const d = e.docker;
  await run('ip', ['netns', 'add', d.netns]).catch(() => undefined); // idempotent
  await run('ip', ['-n', d.netns, 'link', 'set', 'lo', 'up']);
  await mkdir(d.execRoot, { recursive: true, mode: 0o700 });
  await mkdir(d.dataRoot, { recursive: true, mode: 0o700 });
  await mkdir(d.criuWorkRoot, { recursive: true, mode: 0o700 });
  // Its own config file (so a machine-wide /etc/docker/daemon.json is not read): every container
  // runs under ferry's runc wrapper, which keeps CRIU's logs of a failed restore.
  const daemonConfig = {
    runtimes: {
      [DOCKER_RUNTIME]: { path: DOCKER_RUNC_WRAPPER, runtimeArgs: ['--criu-work-root', d.criuWorkRoot] },
    },
    'default-runtime': DOCKER_RUNTIME,
  };
  await writeFile(d.configFile, JSON.stringify(daemonConfig, null, 2) + '\n', { mode: 0o600 });
  const pid = spawnDetached(
    'nsenter',
    [
      `--net=/run/netns/${d.netns}`,
      'dockerd',
      '--experimental',
      '--config-file',
      d.configFile,
      '--data-root',
      d.dataRoot,
      '--exec-root',
      d.execRoot,
      '--pidfile',
      d.pidFile,
      '-H',
      `unix://${d.socket}`,
      '--storage-driver',
      'overlay2',
      '--exec-opt',
      'native.cgroupdriver=cgroupfs',
      '--cgroup-parent',
      `${cgroupParent}/docker`,
      '--log-level',
      'warn',
    ],
    logFile,
    { ...process.env, PATH: toolsPath() }, // containerd's runc finds ferry's criu first
  );
  await waitFor(
    `dockerd of ${host} on ${d.socket}`,
    () =>
      run(d.client, ['-H', `unix://${d.socket}`, 'info', '--format', '{{.ServerVersion}}'], {
        timeoutMs: 5_000,
      }).then(
        () => true,
        () => false,
      ),
    60_000,
    `see ${logFile}`,
  );
  return pid;
}

export async function stopDockerd(e: EngineLayout, pid: number | undefined): Promise<void> {
  // dockerd stops its containerd (and that one its shims) on SIGTERM.
  await stopProcess(pid, 'dockerd', 20_000);
  for (const p of [e.docker.execRoot, e.docker.dataRoot]) await unmountUnder(p);
  await run('ip', ['netns', 'del', e.docker.netns]).catch(() => undefined);
  await rm(e.docker.execRoot, { recursive: true, force: true });
  await rm(e.docker.criuWorkRoot, { recursive: true, force: true });
}

export async function stopPodmanStorage(e: EngineLayout): Promise<void> {
  for (const p of [e.podman.runroot, e.podman.root]) await unmountUnder(p);
  await rm(e.podman.runroot, { recursive: true, force: true });
}

export const dockerdRunning = (pid: number | undefined) => runsAs(pid, 'dockerd');

/** A rootfs tar of busybox-static + ferry-stateful, built once per dev environment. */
export async function buildDevImageTar(layout: DevLayout): Promise<string> {
  const dir = path.join(layout.dir, 'image');
  const tar = path.join(dir, 'ferry-stateful.tar');
  if (
    await access(tar).then(
      () => true,
      () => false,
    )
  )
    return tar;
  await buildBusyboxRootfs(path.join(dir, 'rootfs'));
  await run('tar', ['-C', path.join(dir, 'rootfs'), '-cf', tar, '.']);
  await rm(path.join(dir, 'rootfs'), { recursive: true, force: true });
  return tar;
}

/** Loads the dev image into the host's podman and docker (those it has). */
export async function loadDevImage(
  e: EngineLayout,
  engines: { podman: boolean; docker: boolean },
  tar: string,
): Promise<void> {
  if (engines.podman)
    await run(
      'podman',
      ['--root', e.podman.root, '--runroot', e.podman.runroot, 'import', '--quiet', tar, DEV_IMAGE_REF],
      {
        env: { ...(process.env as Record<string, string>), CONTAINERS_CONF: e.podman.containersConf },
        timeoutMs: 120_000,
      },
    );
  if (engines.docker)
    await run(e.docker.client, ['-H', `unix://${e.docker.socket}`, 'import', tar, DEV_IMAGE_REF], {
      timeoutMs: 120_000,
    });
}
