import { createHash } from 'node:crypto';
import { access, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

const exists = (p) =>
  access(p).then(
    () => true,
    () => false,
  );

const hostId = (dir, host) =>
  createHash('sha256')
    .update(path.join(dir, 'hosts', host, 'state'))
    .digest('hex')
    .slice(0, 12);
/** podman's run root and dockerd's exec root of each simulated host (containerd lives there). */
const runDirs = (dir, hosts) =>
  hosts.flatMap((h) => [`/run/ferry/p-${hostId(dir, h)}`, `/run/ferry/d-${hostId(dir, h)}`]);

/** Processes, mounts, cgroups, SSH masters and iptables rules of the environment in dir. */
export async function leftovers(dir, hosts) {
  const found = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
    if (cmd.includes(dir) || runDirs(dir, hosts).some((r) => cmd.includes(r)))
      found.push(`process ${pid}: ${cmd}`);
  }
  const mounts = await readFile('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n')) if (line.includes(dir)) found.push(`mount: ${line}`);
  // Cgroup parents (/ferry/<host>-<id>) and SSH control sockets (/run/ferry/ssh-<id>) of its hosts.
  for (const host of hosts) {
    const id = createHash('sha256')
      .update(path.join(dir, 'hosts', host, 'state'))
      .digest('hex')
      .slice(0, 12);
    for (const h of await readdir('/sys/fs/cgroup').catch(() => [])) {
      const cg = `/sys/fs/cgroup/${h}/ferry/${host}-${id}`;
      if (await exists(cg)) found.push(`cgroup ${cg}`);
    }
    if (await exists(`/run/ferry/ssh-${id}`)) found.push(`ssh control folder /run/ferry/ssh-${id}`);
    // podman run root and dockerd exec root, and dockerd's network namespace.
    for (const p of [`/run/ferry/p-${id}`, `/run/ferry/d-${id}`, `/run/netns/ferry-${id}`])
      if (await exists(p)) found.push(`left over ${p}`);
    for (const line of mounts.split('\n'))
      if (line.includes(`/run/ferry/p-${id}`) || line.includes(`/run/ferry/d-${id}`))
        found.push(`mount: ${line}`);
  }
  const rules = await execa('iptables-save', [], { reject: false });
  for (const line of String(rules.stdout).split('\n'))
    if (/ferry|CRIU/.test(line)) found.push(`iptables: ${line}`);
  return found;
}
