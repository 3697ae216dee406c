import { readFile, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { hostCgroupLayout } from '../host/cgroup-layout.js';

const ROOT = '/sys/fs/cgroup';

/**
 * Folders of a cgroup path in every mounted hierarchy (v1, hybrid) or the unified one (v2). On
 * v2 the entries of /sys/fs/cgroup are cgroups, not hierarchies: joining the path onto each
 * named folders that no one created (and rmdir'ed their parents when empty).
 */
async function cgroupDirs(cgroupPath: string): Promise<string[]> {
  if ((await hostCgroupLayout()) === 'v2') return [path.join(ROOT, cgroupPath)];
  const hierarchies = await readdir(ROOT, { withFileTypes: true }).catch(() => []);
  const dirs = hierarchies.filter((h) => h.isDirectory()).map((h) => path.join(ROOT, h.name, cgroupPath));
  dirs.push(path.join(ROOT, cgroupPath));
  return dirs;
}

/**
 * Kills every task left in a container's cgroup: a failed or hung restore can leave
 * half-restored tasks that runc no longer knows about.
 */
export async function killCgroupTasks(cgroupPath: string): Promise<number> {
  const pids = new Set<number>();
  for (const dir of await cgroupDirs(cgroupPath)) {
    const text = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const p of text.split('\n').filter(Boolean)) pids.add(Number(p));
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  return pids.size;
}

/**
 * Removes a cgroup and the empty ones below it in every hierarchy, leaves first (runc leaves
 * the parents of its containers' cgroups behind), then its parent when that is empty too.
 */
export async function removeCgroupTree(cgroupPath: string): Promise<void> {
  for (const dir of await cgroupDirs(cgroupPath)) {
    await rmdirDeep(dir);
    await rmdir(path.dirname(dir)).catch(() => undefined); // only when empty
  }
}

async function rmdirDeep(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  for (const e of entries) if (e.isDirectory()) await rmdirDeep(path.join(dir, e.name));
  await rmdir(dir).catch(() => undefined);
}

/**
 * Removes the cgroups named `name` (a container's own, e.g. podman's `libpod-<id>`) found at most
 * `depth` levels below the root of every hierarchy, after killing what is left in them; their
 * parents stay (the engine made those). Returns the cgroups removed.
 */
export async function removeNamedCgroups(name: string, depth = 4): Promise<string[]> {
  const found: string[] = [];
  for (const root of await cgroupDirs('/')) await findNamed(root, name, depth, found);
  for (const dir of found) {
    const procs = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const p of procs.split('\n').filter(Boolean))
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        /* gone */
      }
    await rmdirDeep(dir);
  }
  return found;
}

async function findNamed(dir: string, name: string, depth: number, found: string[]): Promise<void> {
  if (depth <= 0) return;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    if (e.name === name) found.push(p);
    else await findNamed(p, name, depth - 1, found);
  }
}
