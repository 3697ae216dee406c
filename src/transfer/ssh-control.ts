import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';
import { HostPaths } from '../host/host-paths.js';

const CONTROL_ROOT = '/run/ferry';

/**
 * Folder of a host's SSH control sockets. Unix socket paths are limited to ~100 bytes, so it
 * is a short hash of the state directory under /run rather than a folder inside it.
 */
export function sshControlDir(stateDir: string): string {
  return path.join(CONTROL_ROOT, `ssh-${new HostPaths(stateDir).stateHash()}`);
}

export async function ensureSshControlDir(stateDir: string): Promise<string> {
  const dir = sshControlDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Ends every control master of a host (they otherwise linger for ControlPersist) and removes the folder. */
export async function closeSshMasters(stateDir: string): Promise<void> {
  const dir = sshControlDir(stateDir);
  for (const socket of await readdir(dir).catch(() => [])) {
    await run('ssh', ['-o', `ControlPath=${path.join(dir, socket)}`, '-O', 'exit', 'ferry-control'], {
      timeoutMs: 10_000,
    }).catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true });
  await rmdir(CONTROL_ROOT).catch(() => undefined); // only when no other host uses it
}
