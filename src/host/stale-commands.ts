import { readdir, readFile } from 'node:fs/promises';
import { processGroup } from './procfs.js';

/**
 * Commands an earlier attempt of the same step started and that outlived its worker (a
 * SIGKILLed worker does not take its children with it). They are found by a path unique to
 * the migration in their command line.
 */
export async function commandsMentioning(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.split('\0').some((arg) => arg.includes(marker))) pids.push(Number(entry));
  }
  return pids;
}

/** Waits until no command mentions marker (a dump or restore must never be interrupted). */
export async function waitForCommands(marker: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await commandsMentioning(marker)).length > 0) {
    if (Date.now() > deadline) throw new Error(`commands using ${marker} still run after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Kills commands that are safe to restart (rsync resumes from what arrived). A command that
 * leads its own process group (the detached `timeout` wrappers of page servers and lazy
 * dumps) takes its group along: runc's `criu swrk` child does not name the folder, and a
 * CRIU left behind would keep a lazily dumped workload frozen.
 */
export async function killCommands(marker: string): Promise<void> {
  for (const pid of await commandsMentioning(marker)) {
    const leadsGroup = (await processGroup(pid)) === pid;
    try {
      process.kill(leadsGroup ? -pid : pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  await waitForCommands(marker, 10_000);
}
