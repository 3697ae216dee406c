import { createHash } from 'node:crypto';
import { access, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

const exists = (p) =>
  access(p).then(
    () => true,
    () => false,
  );

/** Processes, mounts, cgroups, SSH masters and iptables rules of the environment in dir. */
export async function leftovers(dir, hosts) {
  const found = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
    if (cmd.includes(dir)) found.push(`process ${pid}: ${cmd}`);
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
  }
  const rules = await execa('iptables-save', [], { reject: false });
  for (const line of String(rules.stdout).split('\n'))
    if (/ferry|CRIU/.test(line)) found.push(`iptables: ${line}`);
  return found;
}
