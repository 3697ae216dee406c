import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';

/** Starts a long-running program in its own session, output to logFile; returns its pid. */
export function spawnDetached(
  file: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const out = openSync(logFile, 'a', 0o600);
  try {
    const child = spawn(file, args, { detached: true, stdio: ['ignore', out, out], env });
    if (child.pid === undefined) throw new Error(`could not start ${file}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(out);
  }
}

export async function cmdline(pid: number): Promise<string | undefined> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  return raw?.split('\0').join(' ').trim() || undefined;
}

/** True when pid runs and its command line contains marker (guards against PID reuse). */
export async function runsAs(pid: number | undefined, marker: string): Promise<boolean> {
  if (!pid) return false;
  const cmd = await cmdline(pid);
  return cmd !== undefined && cmd.includes(marker);
}

/** SIGTERM, then SIGKILL after graceMs; only if pid still runs as marker. */
export async function stopProcess(pid: number | undefined, marker: string, graceMs = 5_000): Promise<void> {
  if (!(await runsAs(pid, marker))) return;
  try {
    process.kill(pid!, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await runsAs(pid, marker))) return;
    await sleep(100);
  }
  try {
    process.kill(pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
  while (await runsAs(pid, marker)) await sleep(50);
}

export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  hint = '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${hint ? `; ${hint}` : ''}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
