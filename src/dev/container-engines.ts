import { access, constants, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
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

// Per simulated host: one network namespace (the host's network), podman with its own storage,
// containers.conf and CNI network, run inside that namespace, and its own dockerd (own data root,
// exec root, socket) inside it too, so that bridges, port forwards and iptables rules never touch
// the machine's or another host's (docs/runtimes.md).
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

/** The file docker-init resolves to on PATH, if docker-init is there. */
async function realInit(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':'))
    if (await executable(path.join(dir, 'docker-init'))) return realpath(path.join(dir, 'docker-init'));
  return undefined;
}

/** Which container engines this machine has (dev up starts only those). */
export async function installedEngines(): Promise<{ podman: boolean; docker: boolean }> {
  return {
    podman: await onPath('podman'),
    docker: (await onPath('dockerd')) && (await executable(DOCKER_CLIENT)),
  };
}

export interface EngineLayout {
  /** The host's network namespace (ip netns name): dockerd runs in it, podman commands too. */
  netns: string;
  podman: Required<PodmanSettings> & { tmpDir: string; cniDir: string; ipamDir: string };
  docker: Required<DockerSettings> & {
    dataRoot: string;
    execRoot: string;
    pidFile: string;
    configFile: string;
  };
}

export function engineLayout(layout: DevLayout, host: string): EngineLayout {
  const id = new HostPaths(layout.hostStateDir(host)).stateHash();
  const podmanRun = `/run/ferry/p-${id}`;
  const execRoot = `/run/ferry/d-${id}`;
  const netns = `ferry-${id}`;
  return {
    netns,
    podman: {
      root: path.join(layout.hostDir(host), 'podman', 'root'),
      runroot: podmanRun,
      tmpDir: path.join(podmanRun, 'tmp'),
      containersConf: path.join(layout.hostDir(host), 'podman', 'containers.conf'),
      netns: `/run/netns/${netns}`,
      cniDir: path.join(layout.hostDir(host), 'podman', 'cni'),
      // host-local IPAM's leases: in the run root, so that dev down removes them.
      ipamDir: path.join(podmanRun, 'cni-ipam'),
    },
    docker: {
      socket: path.join(execRoot, 'docker.sock'),
      client: DOCKER_CLIENT,
      dataRoot: path.join(layout.hostDir(host), 'docker'),
      criuWorkRoot: path.join(layout.hostDir(host), 'docker-criu'),
      configFile: path.join(layout.hostDir(host), 'dockerd.json'),
      execRoot,
      pidFile: path.join(execRoot, 'dockerd.pid'),
    },
  };
}

/** The host's network namespace, loopback up (idempotent). */
export async function ensureHostNetns(e: EngineLayout): Promise<void> {
  await run('ip', ['netns', 'add', e.netns]).catch(() => undefined); // already there
  await run('ip', ['-n', e.netns, 'link', 'set', 'lo', 'up']);
}

export async function removeHostNetns(e: EngineLayout): Promise<void> {
  await run('ip', ['netns', 'del', e.netns]).catch(() => undefined);
}

/**
 * containers.conf of one simulated host: runc, cgroupfs, explicit ulimits, file events, and its
 * own CNI network "podman" (podman's default name) whose bridge lives in the host's network
 * namespace: podman commands of this host run there (hosts[].podman.netns).
 */
export async function writePodmanConf(e: EngineLayout): Promise<void> {
  // --init: podman's default init (catatonit) is not packaged with it here; docker's tini is a
  // static init of the same kind, as the file itself (see startDockerd).
  const init = await realInit();
  await mkdir(path.dirname(e.podman.containersConf), { recursive: true, mode: 0o700 });
  await mkdir(e.podman.tmpDir, { recursive: true, mode: 0o700 });
  await mkdir(e.podman.cniDir, { recursive: true, mode: 0o700 });
  const conf = [
    '# written by ferry dev up (docs/runtimes.md: why each setting)',
    '[containers]',
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]',
    ...(init ? [`init_path = "${init}"`] : []),
    '[engine]',
    'runtime = "runc"',
    'cgroup_manager = "cgroupfs"',
    'events_logger = "file"',
    `tmp_dir = "${e.podman.tmpDir}"`,
    '[network]',
    'network_backend = "cni"',
    `network_config_dir = "${e.podman.cniDir}"`,
    '',
  ].join('\n');
  await writeFile(e.podman.containersConf, conf, { mode: 0o600 });
  // The same subnet on every host is fine: each bridge is alone in its host's namespace, and
  // podman restores a container with its address.
  const network = {
    cniVersion: '0.4.0',
    name: 'podman',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni-podman0',
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: e.podman.ipamDir,
          routes: [{ dst: '0.0.0.0/0' }],
          ranges: [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }]],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
      { type: 'firewall' },
      { type: 'tuning' },
    ],
  };
  await writeFile(path.join(e.podman.cniDir, 'podman.conflist'), JSON.stringify(network, null, 2) + '\n', {
    mode: 0o600,
  });
}

/** Starts the host's dockerd in its own network namespace; returns its pid. */
export async function startDockerd(
  e: EngineLayout,
  host: string,
  logFile: string,
  cgroupParent: string,
): Promise<number> {
  const d = e.docker;
  await ensureHostNetns(e);
  await mkdir(d.execRoot, { recursive: true, mode: 0o700 });
  await mkdir(d.dataRoot, { recursive: true, mode: 0o700 });
  await mkdir(d.criuWorkRoot, { recursive: true, mode: 0o700 });
  // Its own config file (so a machine-wide /etc/docker/daemon.json is not read): every container
  // runs under ferry's runc wrapper, which keeps CRIU's logs of a failed restore.
  const daemonConfig: Record<string, unknown> = {
    runtimes: {
      [DOCKER_RUNTIME]: { path: DOCKER_RUNC_WRAPPER, runtimeArgs: ['--criu-work-root', d.criuWorkRoot] },
    },
    'default-runtime': DOCKER_RUNTIME,
  };
  // --init mounts dockerd's init into the container; CRIU cannot restore a bind mount of a
  // symlink (Debian's docker-init -> tini-static), so it gets the file itself.
  const init = await realInit();
  if (init) daemonConfig['init-path'] = init;
  await writeFile(d.configFile, JSON.stringify(daemonConfig, null, 2) + '\n', { mode: 0o600 });
  const pid = spawnDetached(
    'nsenter',
    [
      `--net=/run/netns/${e.netns}`,
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
