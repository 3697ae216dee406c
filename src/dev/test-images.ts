// Images beyond the dev image, for the end-to-end suites: the Debian userland of the
// real-software suite (redis, python3, nginx, a headless JVM, busybox), built with mmdebstrap by
// scripts/setup/install-test-rootfs.sh and cached in ~/.cache/ferry. Loaded into a simulated
// host's podman and docker (podman/docker import: no registry is reachable) or unpacked as a
// runc bundle in a workload's folder (docs/operations.md, "Real software").
import { access, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';
import { HostPaths } from '../host/host-paths.js';
import { DEV_IMAGE_REF } from '../runtimes/dev-image.js';
import { cgroupsPathFor, ociConfig } from '../runtimes/oci-config.js';
import { buildDevImageTar, engineLayout, loadDevImage, type EngineLayout } from './container-engines.js';
import { DevLayout, REPO_ROOT } from './dev-layout.js';
import { readDevState } from './dev-env.js';

const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The Debian test image, as each engine names it once imported. */
export const DEBIAN_TEST_IMAGE = {
  ref: 'ferry-debian:bookworm',
  podman: 'localhost/ferry-debian:bookworm',
  docker: 'ferry-debian:bookworm',
  /** The link install-test-rootfs.sh keeps to the cached tar of the current recipe. */
  link: path.join(REPO_ROOT, '.tools', 'test-rootfs.tar'),
  /** Environment every container of it gets (an imported rootfs carries no image config). */
  env: [`PATH=${IMAGE_PATH}`, 'HOME=/root', 'LANG=C.UTF-8'],
} as const;

/** The images `loadNamedImage` knows, by the name an operator would give. */
export const LOADABLE_IMAGES = ['ferry-stateful', 'ferry-debian'] as const;
export type LoadableImage = (typeof LOADABLE_IMAGES)[number];

/** The cached rootfs tar of the Debian test image; a clear error when setup has not built it. */
export async function debianRootfsTar(): Promise<string> {
  const tar = await realpath(DEBIAN_TEST_IMAGE.link).catch(() => undefined);
  if (
    !tar ||
    !(await access(tar).then(
      () => true,
      () => false,
    ))
  )
    throw new Error(
      `the Debian test rootfs is missing (${DEBIAN_TEST_IMAGE.link}): run bash scripts/setup.sh (it calls scripts/setup/install-test-rootfs.sh)`,
    );
  return tar;
}

/** Imports a rootfs tar as image `ref` into the host's podman and docker (those it has). */
export async function importRootfsImage(
  e: EngineLayout,
  engines: { podman: boolean; docker: boolean },
  tar: string,
  ref: string,
): Promise<void> {
  // Both engines take Dockerfile instructions for the image config; an import has none.
  const changes = ['--change', `ENV PATH=${IMAGE_PATH}`, '--change', 'WORKDIR /'];
  // Side by side: each engine spends much of its time waiting on the disk.
  await Promise.all([
    engines.podman &&
      run(
        'podman',
        ['--root', e.podman.root, '--runroot', e.podman.runroot, 'import', '--quiet', ...changes, tar, ref],
        {
          env: { ...(process.env as Record<string, string>), CONTAINERS_CONF: e.podman.containersConf },
          timeoutMs: 300_000,
        },
      ),
    engines.docker &&
      run(e.docker.client, ['-H', `unix://${e.docker.socket}`, 'import', ...changes, tar, ref], {
        timeoutMs: 300_000,
      }),
  ]);
}

/**
 * Loads a named image into one simulated host's podman and docker: `ferry-stateful` (the dev
 * image, built on the spot) or `ferry-debian` (the cached Debian test rootfs). This is what
 * `ferry dev load-image --host H --image NAME` runs.
 */
export async function loadNamedImage(dir: string, hostName: string, image: string): Promise<string> {
  if (!(LOADABLE_IMAGES as readonly string[]).includes(image))
    throw new Error(`unknown image "${image}": use one of ${LOADABLE_IMAGES.join(', ')}`);
  const state = await readDevState(dir);
  const host = state?.hosts.find((h) => h.name === hostName);
  if (!state || !host) throw new Error(`no simulated host ${hostName} in ${dir}`);
  const layout = new DevLayout(state.dir);
  const e = engineLayout(layout, host.name);
  const engines = { podman: !!host.podman, docker: !!host.docker };
  if (image === 'ferry-stateful') {
    await loadDevImage(e, engines, await buildDevImageTar(layout));
    return DEV_IMAGE_REF;
  }
  await importRootfsImage(e, engines, await debianRootfsTar(), DEBIAN_TEST_IMAGE.ref);
  return DEBIAN_TEST_IMAGE.ref;
}

export interface RuncBundleOptions {
  argv: string[];
  /** Added to the image's environment (PATH, HOME, LANG). */
  env?: string[];
  /** Paths of the rootfs left out of the bundle (relative, e.g. usr/lib/jvm): a smaller copy to move. */
  exclude?: string[];
  labels?: Record<string, string>;
}

/**
 * Writes a runc bundle (config.json + rootfs unpacked from a rootfs tar) into the workload's
 * folder on a host, where ferry's runc runtime keeps its bundles; start it with the runtime's
 * `startFresh(name)`. Same namespaces and limits as `ferry dev spawn --runtime runc`.
 */
export async function writeRuncBundle(
  stateDir: string,
  host: string,
  name: string,
  tar: string,
  opts: RuncBundleOptions,
): Promise<string> {
  const paths = new HostPaths(stateDir);
  const bundle = path.join(paths.workloadDir('runc', name), 'bundle');
  await rm(bundle, { recursive: true, force: true });
  await mkdir(path.join(bundle, 'rootfs'), { recursive: true, mode: 0o700 });
  const excludes = (opts.exclude ?? []).flatMap((p) => [`--exclude=./${p.replace(/^\.?\/+/, '')}`]);
  await run('tar', ['-C', path.join(bundle, 'rootfs'), '--numeric-owner', ...excludes, '-xf', tar], {
    timeoutMs: 300_000,
  });
  const config = ociConfig({
    argv: opts.argv,
    hostname: name,
    cgroupsPath: cgroupsPathFor(paths.cgroupParent(host), name),
    env: [...DEBIAN_TEST_IMAGE.env, ...(opts.env ?? [])],
    labels: opts.labels,
  });
  await writeFile(path.join(bundle, 'config.json'), JSON.stringify(config, null, 2));
  return bundle;
}
