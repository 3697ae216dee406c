import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';

/** Mount points at or below dir, deepest first. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = path.resolve(dir);
  const mounts = await readFile('/proc/mounts', 'utf8').catch(() => '');
  return mounts
    .split('\n')
    .map((l) => (l.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === root || m.startsWith(`${root}/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * A failed CRIU/runc restore can leave mounts behind (runc's criu-root bind mount, CRIU's
 * cgroup yard): unmount them (lazily) before anything removes the folder, so that a recursive
 * delete never walks into a mounted filesystem.
 */
export async function unmountUnder(dir: string): Promise<string[]> {
  const targets = await mountsUnder(dir);
  for (const t of targets) await run('umount', ['-l', t]).catch(() => undefined);
  return targets;
}
