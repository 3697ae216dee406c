import { readFile, readdir } from 'node:fs/promises';
import { execa } from 'execa';

/** Processes, mounts and cgroups that still mention the dev environment after `dev down`. */
export async function leftovers(dir) {
  const found = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
    if (cmd.includes(dir)) found.push(`process ${pid}: ${cmd}`);
  }
  const mounts = await readFile('/proc/mounts', 'utf8');
  for (const line of mounts.split('\n')) if (line.includes(dir)) found.push(`mount: ${line}`);
  for (const h of await readdir('/sys/fs/cgroup').catch(() => [])) {
    const ferryCg = `/sys/fs/cgroup/${h}/ferry`;
    const hosts = await readdir(ferryCg).catch(() => undefined);
    if (hosts) found.push(`cgroup ${ferryCg}: ${hosts.join(', ')}`);
  }
  const rules = await execa('iptables-save', [], { reject: false });
  for (const line of String(rules.stdout).split('\n'))
    if (/ferry|CRIU/.test(line)) found.push(`iptables: ${line}`);
  return found;
}
