import { readFile, readdir } from 'node:fs/promises';
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
