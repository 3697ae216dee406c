// npm run bench:load: what a run left on the machine, read from /proc and the hosts' folders,
// and the CPU and memory figures of the environment's processes.
import { readdir, readFile, readlink } from 'node:fs/promises';
import os from 'node:os';
import { HostPaths } from '../host/host-paths.js';
import { rssBytes } from '../host/procfs.js';

/** Mount points under `dir` (from this process's mount namespace: the host's). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
  root: string;
}

async function readProc(pid: number): Promise<Proc | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ');
  const root = await readlink(`/proc/${pid}/root`).catch(() => '');
  return { pid, ppid, comm, cmdline, root };
}

async function allProcs(): Promise<Proc[]> {
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  return (await Promise.all(pids.map(readProc))).filter((p): p is Proc => !!p);
}

/**
 * Processes of this environment that should not be there: criu and rsync commands (a finished
 * run has none), and workload processes beyond the copies the runtimes report running.
 * A workload process is ours when its root is under `dir` (runc) or its parent's command
 * line names `dir` (ferry-shim of a process workload).
 */
export async function strayProcesses(dir: string, runningCopies: number): Promise<string[]> {
  const procs = await allProcs();
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const ours = (p: Proc) => p.cmdline.includes(dir) || p.root.startsWith(`${dir}/`);
  const strays = procs
    .filter(
      (p) => ours(p) && (p.comm === 'rsync' || p.comm === 'criu' || /\/sbin\/criu /.test(`${p.cmdline} `)),
    )
    .map((p) => `${p.comm} ${p.pid}: ${p.cmdline.slice(0, 160)}`);
  const workloads = procs.filter(
    (p) => p.comm === 'ferry-stateful' && (p.root.startsWith(`${dir}/`) || ours(byPid.get(p.ppid) ?? p)),
  );
  if (workloads.length > runningCopies)
    strays.push(
      `${workloads.length - runningCopies} workload processes beyond the ${runningCopies} running copies (pids ${workloads.map((p) => p.pid).join(' ')})`,
    );
  return strays;
}

/** What is under each host's STATE/migrations (a finished migration leaves nothing there). */
export async function migrationLeftovers(stateDirs: Record<string, string>): Promise<string[]> {
  const found: string[] = [];
  for (const [host, stateDir] of Object.entries(stateDirs)) {
    const root = new HostPaths(stateDir).migrationsRoot();
    for (const e of await readdir(root).catch(() => [] as string[])) found.push(`${host}: migrations/${e}`);
  }
  return found;
}

export async function rssKiB(pid: number | undefined): Promise<number> {
  return pid ? ((await rssBytes(pid)) ?? 0) / 1024 : 0;
}

const TICK = 100; // USER_HZ on Linux

/** CPU seconds of a process: its own and its reaped children's (criu, rsync, runc, ssh sessions). */
export async function cpuSeconds(pid: number | undefined): Promise<{ own: number; children: number }> {
  const stat = pid ? await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '') : '';
  if (!stat) return { own: 0, children: 0 };
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 (utime stime cutime cstime) are rest[11..14].
  const n = (i: number) => Number(f[i] ?? 0) / TICK;
  return { own: n(11) + n(12), children: n(13) + n(14) };
}

/** Busy CPU seconds of the whole machine since boot (every core, everyone's). */
export async function machineBusySeconds(): Promise<number> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = line;
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICK;
}

export const cores = (): number => os.cpus().length;
