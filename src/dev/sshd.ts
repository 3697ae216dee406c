import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import path from 'node:path';
import { run } from '../exec/run.js';
import type { DevLayout } from './dev-layout.js';
import { portOpen, spawnDetached, waitFor } from './processes.js';

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** The key the host workers push images with, shared by the simulated hosts. */
export async function ensureClientKey(layout: DevLayout): Promise<string> {
  await mkdir(layout.sshDir, { recursive: true, mode: 0o700 });
  if (!(await exists(layout.clientKey)))
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-dev', '-f', layout.clientKey]);
  const pub = await readFile(`${layout.clientKey}.pub`, 'utf8');
  await writeFile(layout.authorizedKeys, pub, { mode: 0o600 });
  return pub;
}

/** Starts one simulated host's sshd on its own address; returns its pid and host-key line. */
export async function startHostSshd(
  layout: DevLayout,
  host: string,
  address: string,
  port: number,
): Promise<{ pid: number; knownHostsLine: string }> {
  const dir = path.join(layout.hostDir(host), 'sshd');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation folder
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  if (!(await exists(hostKey))) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const config = [
    `ListenAddress ${address}:${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${layout.authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'PrintMotd no',
    'LogLevel ERROR',
    '',
  ].join('\n');
  const configFile = path.join(dir, 'sshd_config');
  await writeFile(configFile, config, { mode: 0o600 });
  const pid = spawnDetached('/usr/sbin/sshd', ['-D', '-e', '-f', configFile], layout.log(`sshd-${host}`));
  await waitFor(
    `sshd of ${host} on ${address}:${port}`,
    () => portOpen(address, port),
    15_000,
    `see ${layout.log(`sshd-${host}`)}`,
  );
  const pub = (await readFile(`${hostKey}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ');
  return { pid, knownHostsLine: `[${address}]:${port} ${pub}` };
}
