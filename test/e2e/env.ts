// Shared by the end-to-end tests: where their dev environment lives and how to call the CLI.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { toolsPath } from '../../src/dev/dev-layout.js';
// @ts-expect-error plain JavaScript shared with the global setup
import { CONFIG_FILE, E2E as RAW, ROOT, runFerry } from './run-ferry.mjs';

process.env.PATH = toolsPath(); // criu wrapper, ferry-shim, runc lookups in the test process

export { CONFIG_FILE, ROOT };
export const E2E = RAW as {
  dir: string;
  temporalPort: number;
  uiPort: number;
  sshPort: number;
  addressPrefix: string;
  hosts: string[];
};
export const stateDir = (host: string) => path.join(E2E.dir, 'hosts', host, 'state');

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI (bin/ferry) against the e2e environment. */
export async function ferry(args: string[], timeoutMs = 170_000): Promise<CliRun> {
  return (await runFerry(args, timeoutMs)) as CliRun;
}

export function outputLog(host: string, runtime: string, name: string): string {
  return path.join(stateDir(host), 'workloads', runtime, name, 'output.log');
}

export async function readOutput(host: string, runtime: string, name: string): Promise<string> {
  return readFile(outputLog(host, runtime, name), 'utf8').catch(() => '');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the workload has printed at least n lines. */
export async function waitForLines(
  host: string,
  runtime: string,
  name: string,
  n: number,
  timeoutMs = 30_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readOutput(host, runtime, name);
    if (text.split('\n').filter(Boolean).length >= n) return text;
    if (Date.now() > deadline)
      throw new Error(
        `${runtime}/${name} on ${host} printed fewer than ${n} lines in ${timeoutMs} ms:\n${text}`,
      );
    await sleep(100);
  }
}
