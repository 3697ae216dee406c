// The SSH control masters a host's worker opens to its peers: they belong to the worker. Their
// socket names carry a hash of the settings they were opened with (key, known_hosts), so that a
// changed known_hosts opens a new master instead of reusing one that trusted the old keys; the
// worker ends them all when it stops (closeSshMasters) and leaves nothing under /run/ferry.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
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

/** What a master was opened with; any change gives another key, hence another socket. */
export interface SshSettings {
  identityFile: string;
  /** The identity file's size and mtime: a replaced key is another key. */
  identityStamp: string;
  knownHostsFile: string;
  /** The known_hosts file's content. */
  knownHosts: string;
  bindAddress?: string;
}

/** 8 hex digits of the settings: the prefix of every socket opened with them. */
export function sshSettingsKey(s: SshSettings): string {
  return createHash('sha256').update(JSON.stringify(s)).digest('hex').slice(0, 8);
}

/** The settings as they are on disk now (a missing file reads as empty: ssh reports it). */
export async function currentSshSettings(opts: {
  identityFile: string;
  knownHostsFile: string;
  bindAddress?: string;
}): Promise<SshSettings> {
  const [known, id] = await Promise.all([
    readFile(opts.knownHostsFile, 'utf8').catch(() => ''),
    stat(opts.identityFile).catch(() => undefined),
  ]);
  return {
    identityFile: opts.identityFile,
    identityStamp: id ? `${id.size}:${id.mtimeMs}` : 'missing',
    knownHostsFile: opts.knownHostsFile,
    knownHosts: known,
    ...(opts.bindAddress ? { bindAddress: opts.bindAddress } : {}),
  };
}

/**
 * The folder for this host's masters, with the masters opened under other settings stopped:
 * `-O stop` lets a transfer that still uses one finish, then that master exits.
 */
export async function ensureSshControlDir(stateDir: string, key: string): Promise<string> {
  const dir = sshControlDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const socket of await readdir(dir).catch(() => []))
    if (!socket.startsWith(`${key}-`)) await endMaster(path.join(dir, socket), 'stop');
  return dir;
}

async function endMaster(socket: string, how: 'exit' | 'stop'): Promise<void> {
  await run('ssh', ['-o', `ControlPath=${socket}`, '-O', how, 'ferry-control'], {
    timeoutMs: 10_000,
  }).catch(() => undefined);
  // A socket whose master is gone (killed worker) is only a name: remove it.
  if (how === 'exit') await rm(socket, { force: true });
}

/** Ends every control master of a host (they otherwise linger for ControlPersist) and removes the folder. */
export async function closeSshMasters(stateDir: string): Promise<void> {
  const dir = sshControlDir(stateDir);
  for (const socket of await readdir(dir).catch(() => [])) await endMaster(path.join(dir, socket), 'exit');
  await rm(dir, { recursive: true, force: true });
  await rmdir(CONTROL_ROOT).catch(() => undefined); // only when no other host uses it
}
