import { readFile, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';

const ROOT = '/sys/fs/cgroup';

/** Folders of a cgroup path in every mounted hierarchy (v1) or the unified one (v2). */
async function cgroupDirs(cgroupPath: string): Promise<string[]> {
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
