import { readFile, readlink } from 'node:fs/promises';

/** Start time (clock ticks since boot) from /proc/PID/stat: guards against PID reuse. */
export async function processStartTime(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  return parseStartTime(stat);
}

export function parseStartTime(stat: string): number | undefined {
  // comm (field 2) may contain spaces and parentheses: split after the last ")".
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); starttime is field 22.
  const state = rest[0];
  if (state === 'Z' || state === 'X') return undefined;
  const value = Number(rest[19]);
  return Number.isFinite(value) ? value : undefined;
}

export async function isAlive(pid: number, startTime?: number): Promise<boolean> {
  const st = await processStartTime(pid);
  return st !== undefined && (startTime === undefined || st === startTime);
}

export async function fdTarget(pid: number, fd: number): Promise<string | undefined> {
  return readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
}

/** Resident set size of a process, in bytes. */
export async function rssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kb = status && /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : undefined;
}

export async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.split(/\s+/).filter(Boolean).map(Number);
}

/** RSS of a process and all its descendants. */
export async function treeRssBytes(pid: number): Promise<number> {
  let total = (await rssBytes(pid)) ?? 0;
  for (const child of await childPids(pid)) total += await treeRssBytes(child);
  return total;
}

/** Process group of a process (field 5 of /proc/PID/stat), undefined when it is gone. */
export async function processGroup(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name: state ppid pgrp ...
  const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  return Number.isFinite(pgrp) ? pgrp : undefined;
}

/** Microseconds since boot (/proc/uptime), as CRIU records a dump's time. */
export async function uptimeMicros(): Promise<number> {
  const seconds = Number((await readFile('/proc/uptime', 'utf8')).split(/\s+/)[0]);
  return Math.floor(seconds * 1e6);
}
